"""The content-addressed blob store (``ContentStore``) and its writers.

Blobs are invisible until ``ContentWriter.commit`` has verified size and digest
and renamed the ingest into ``blobs/<alg>/<hex>``.
"""

from ketch.content._store import BlobInfo, ContentStore, IngestStatus
from ketch.content._writer import ContentWriter

__all__ = ["BlobInfo", "ContentStore", "ContentWriter", "IngestStatus"]
