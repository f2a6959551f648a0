"""Build time and the index folder: the folder's format and loading (``index``), building and
publishing a build (``build``), the sentence vectors (``sentence_index``), the vector stores
(``stores/``), the document collection (``documents``) and the index lifecycle (``lifecycle``)."""
