"""Grounding: one-shot `ground` requests and the ScreenSpot-V2 / ScreenSpot-Pro evaluation harness."""

from agent.grounding.dataset import BBOX_FORMATS, BboxFormat, Box, Dataset, DatasetError, Sample, load_dataset
from agent.grounding.ground import (
    Grounding, ask, draw_point, grounding_perception, grounding_point, grounding_request, grounding_sampling,
    image_screenshot, read_answer,
)
from agent.grounding.harness import (
    RESULTS_FILE, SUMMARY_FILE, SampleResult, Summary, Tally, evaluate, read_results, score, summarise,
    write_summary,
)

__all__ = [
    "BBOX_FORMATS", "RESULTS_FILE", "SUMMARY_FILE", "BboxFormat", "Box", "Dataset", "DatasetError", "Grounding",
    "Sample", "SampleResult", "Summary", "Tally", "ask", "draw_point", "evaluate", "grounding_perception",
    "grounding_point", "grounding_request", "grounding_sampling", "image_screenshot", "load_dataset",
    "read_answer", "read_results", "score", "summarise", "write_summary",
]
