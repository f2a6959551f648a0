"""The foundation every layer stands on: the values that flow (``types``), the error tree
(``errors``, ``redact``), the one ``Settings`` object and the calibration overlay it reads
(``settings``, ``calibration``), input validation (``inputs``), score fusion (``fusion``) and the
file-system toolkit (``fsio``). Nothing here imports any other part of the package."""
