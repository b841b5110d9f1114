"""Vocabulary of the paper's results files (Meadows et al.), shared by the importer and the math stats."""

import re

VARIANTS = ["static", "VR", "EE", "AG", "SR"]
# A model's output: `static_gpt-4`, `VR_flan-t5-large`, ... (text values; metric keys hold numbers)
OUTPUT_KEY = re.compile(r"^(static|VR|EE|AG|SR)_(.+)$")
