"""Topic detection: topic definitions (data) → flag, score, evidence sentences and state."""

from ._detect import Detection, detect, detect_each, detect_topics, with_second_opinion
from ._language import identify_language
from ._normalize import normalize
from ._semantic import SemanticDetection, SemanticUnavailable, semantic_detect, semantic_detect_topics
from ._topics import Topic, load_topics

__all__ = ["Detection", "SemanticDetection", "SemanticUnavailable", "Topic", "detect", "detect_each", "detect_topics",
           "identify_language", "load_topics", "normalize", "semantic_detect", "semantic_detect_topics",
           "with_second_opinion"]
