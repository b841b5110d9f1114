"""The paper's text metrics of a derivation against its reference, with the
semantics of Hugging Face `evaluate` that the authors' scripts used:

- rouge2: `rouge` -> Google's rouge_score, ROUGE-2 F-measure, no stemming;
- bleu: `bleu` -> tokenizer 13a, 4-grams, no smoothing (sacrebleu's corpus BLEU on one pair, /100);
- gleu: `google_bleu` -> tokenizer 13a, NLTK's corpus GLEU (1-4-grams).
Each is a per-example score (one prediction, one reference), as stored in the paper's files.
"""

from __future__ import annotations

from functools import lru_cache

NAMES = ("rouge2", "bleu", "gleu")


@lru_cache(maxsize=1)
def _tools():
    import sacrebleu
    from nltk.translate.gleu_score import corpus_gleu
    from rouge_score import rouge_scorer
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    return rouge_scorer.RougeScorer(["rouge2"], use_stemmer=False), sacrebleu, corpus_gleu, Tokenizer13a()


def rouge2(prediction: str, reference: str) -> float:
    scorer = _tools()[0]
    return scorer.score(reference, prediction)["rouge2"].fmeasure


def bleu(prediction: str, reference: str) -> float:
    sacrebleu = _tools()[1]
    return sacrebleu.corpus_bleu([prediction], [[reference]], smooth_method="none", tokenize="13a").score / 100


def gleu(prediction: str, reference: str) -> float:
    _, _, corpus_gleu, tokenize = _tools()
    hypothesis = tokenize(prediction).split()
    if not hypothesis:
        return 0.0
    return corpus_gleu([[tokenize(reference).split()]], [hypothesis])


def text_metrics(prediction: str, reference: str | None) -> dict[str, float]:
    """All three, or nothing when there is no reference to compare with."""
    if not reference:
        return {}
    return {"rouge2": rouge2(prediction, reference), "bleu": bleu(prediction, reference),
            "gleu": gleu(prediction, reference)}
