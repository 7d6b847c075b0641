from pathlib import Path

import pytest

from ketch.content import ContentStore
from ketch.images.store import ImageStore


@pytest.fixture
def content(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


@pytest.fixture
def images(tmp_path: Path, content: ContentStore) -> ImageStore:
    return ImageStore(tmp_path / "images", content)
