"""Text normalisation for the ranker: words, a light stemmer, stop words, acronyms.

Papers and profile phrases go through the same normalisation, so "Mixture-of-Experts", "MoE"
and "mixtures of experts" end up as the same stems and a phrase matches whatever way a paper
writes it (a profile phrase's own analysis, and its variants, are in `textmatch_phrases`).
Author names are normalised here too. Pure functions, no I/O; the stemmer is memoised because
the same words come back.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import TypeVar

# English function words, plus words every abstract uses ("propose", "novel").
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at based be because been
    before being below between both but by can could did do does doing down during e each eg
    either etc few for from further g had has have having he her here hers herself him himself
    his how i ie if in into is it its itself just me more most my myself new no nor not novel of
    off on once only or other our ours ourselves out over own paper present presents propose
    proposed proposes s same she should show shows so some such t than that the their theirs them
    themselves then there these they this those through to too toward towards under until up
    upon using versus very via vs was we were what when where which while who whom why will
    with within without would you your yours yourself yourselves""".split()  # noqa: SIM905 - a word list reads better as prose
)

# A small, generic table of acronyms that ML papers use without defining them. Both papers and
# profile phrases are rewritten to the long form, so either spelling matches the other.
ACRONYMS: Mapping[str, str] = {
    "ai": "artificial intelligence",
    "cnn": "convolutional neural network",
    "cot": "chain of thought",
    "dit": "diffusion transformer",
    "dllm": "diffusion large language model",
    "dpo": "direct preference optimization",
    "gan": "generative adversarial network",
    "gnn": "graph neural network",
    "grpo": "group relative policy optimization",
    "gui": "graphical user interface",
    "icl": "in context learning",
    "kv": "key value",
    "llm": "large language model",
    "lmm": "large multimodal model",
    "lora": "low rank adaptation",
    "lvlm": "large vision language model",
    "mcp": "model context protocol",
    "mllm": "multimodal large language model",
    "moe": "mixture of experts",
    "nerf": "neural radiance field",
    "nlp": "natural language processing",
    "ocr": "optical character recognition",
    "peft": "parameter-efficient fine-tuning",
    "ppo": "proximal policy optimization",
    "prm": "process reward model",
    "ptq": "post-training quantization",
    "qa": "question answering",
    "qat": "quantization aware training",
    "rag": "retrieval augmented generation",
    "rl": "reinforcement learning",
    "rlhf": "reinforcement learning from human feedback",
    "rlvr": "reinforcement learning with verifiable rewards",
    "rnn": "recurrent neural network",
    "sft": "supervised fine-tuning",
    "ssm": "state space model",
    "t2i": "text to image",
    "t2v": "text to video",
    "vit": "vision transformer",
    "vla": "vision language action",
    "vlm": "vision language model",
    "vqa": "visual question answering",
}

# Acronyms with two common meanings ("ASR": speech recognition or the attack success rate; "TTS":
# text-to-speech or test-time scaling; "SLM": a small or a spoken language model), and the long
# form a profile phrase means by them. Not in ACRONYMS, so a paper means one only where it
# defines it (`textmatch_phrases.SPELLED_OUT` says how a profile phrase matches them). Their
# plurals are read as the acronym ("SLMs": "slm").
AMBIGUOUS_ACRONYMS: Mapping[str, str] = {
    "asr": "automatic speech recognition",
    "tts": "text-to-speech",
    "slm": "small language model",
}

_SENTENCE_END = re.compile(r"[.!?;:](?:\s|$)|\n\s*\n|\s[-–—]\s")
WORD = re.compile(r"[A-Za-z0-9]+")
_DEFINITION = re.compile(r"\(([A-Za-z][A-Za-z0-9\-]{1,9})\)")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_LATEX = re.compile(r"\$[^$]*\$|\\[a-zA-Z]+")
# Prefixes written with or without a hyphen ("pre-training", "pretraining"): joined to the
# word, which also keeps "non-autoregressive" from matching "autoregressive".
_PREFIX = re.compile(r"\b(non|pre|post|re|co|un|semi|fine|multi|sub|self)-(?=[a-z])", re.I)
_PREFIX_SIZES = (2, 3, 4, 5)  # the lengths of those prefixes

# Suffix rules of the stemmer: (suffix, replacement, shortest stem left). Longest first.
_SUFFIXES: tuple[tuple[str, str, int], ...] = (
    ("izations", "ize", 3),
    ("isations", "ize", 3),
    ("ational", "ate", 3),
    ("ization", "ize", 3),
    ("isation", "ize", 3),
    ("ifiers", "ify", 3),
    ("ifier", "ify", 3),
    ("ication", "y", 3),
    ("fulness", "ful", 3),
    ("iveness", "ive", 3),
    ("ations", "ate", 3),
    ("ation", "ate", 3),
    ("ators", "ate", 3),
    ("ator", "ate", 3),
    ("ities", "", 4),
    ("ments", "", 5),
    ("ment", "", 5),
    ("ness", "", 4),
    ("ingly", "", 4),
    ("ings", "", 3),
    ("ing", "", 3),
    ("edly", "", 4),
    ("ied", "y", 3),
    ("ies", "y", 3),
    ("ed", "", 3),
    ("ity", "", 4),
    ("ular", "ul", 3),
    ("ical", "ic", 3),
    ("ally", "al", 3),
    ("ably", "", 4),
    ("able", "", 4),
    ("ibly", "", 4),
    ("ible", "", 4),
    ("ively", "", 4),
    ("ive", "", 4),
    ("ly", "", 4),
    ("ions", "", 4),
    ("ion", "", 4),
    ("ic", "", 5),
)
_ION_BEFORE = frozenset("st")
# Nouns for the tool of an activity, stemmed as the act: "reranker" and "reranking", "retriever"
# and "retrieval", "tokenizer" and "tokenization". A list, not a rule: most words in "-er",
# "-izer" or "-al" are not of their stem ("layer", "decoder" beside "speculative decoding",
# "optimizer" beside every "policy optimization", "ranker" beside "low-rank", "general").
_AGENT_NOUNS = {
    "reranker": "rerank", "retriever": "retrieve", "retrieval": "retrieve",
    "recommender": "recommend", "embedder": "embedding", "removal": "remove",
    "refusal": "refuse", **{f"{base}{end}": f"{base}ize" for end in ("izer", "iser") for base in (
        "token", "quant", "regular", "normal", "summar", "vector", "lemmat")},
}
# The same rules by their last letter, in the same order: a word is only tried on those.
_SUFFIXES_ENDING: dict[str, tuple[tuple[str, str, int], ...]] = {
    last: tuple(rule for rule in _SUFFIXES if rule[0].endswith(last))
    for last in {rule[0][-1] for rule in _SUFFIXES}
}
_stem_memo: dict[str, str] = {}
# Words remembered by `stem` and `analyse`: a run meets some thousands, and a daemon new ones
# every day for months (the words of a year of arXiv's computer science would fill some 40 MB).
MEMO_LIMIT = 100_000  # about 20 MB
_Memoised = TypeVar("_Memoised")


def _remember(memo: dict[str, _Memoised], word: str, value: _Memoised) -> _Memoised:
    """Keep a word's result in a memo, emptied first when it holds MEMO_LIMIT words."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[word] = value
    return value


def stem(word: str) -> str:
    """Reduce a lower-case word to a stem shared by its plural and common derived forms.

    A small suffix stripper in the spirit of Porter's first steps: it conflates "models",
    "modeling" and "modelled", "generation" and "generative", "verifier" and "verification",
    and leaves short words and numbers alone so that it never merges unrelated terms.
    """
    done = _stem_memo.get(word)
    if done is None:
        done = _remember(_stem_memo, word, _stem_uncached(word))
    return done


def _stem_uncached(word: str) -> str:
    """The stemmer proper (see `stem`)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    word = _strip_plural(word)
    word = _AGENT_NOUNS.get(word, word)
    for suffix, replacement, shortest in _SUFFIXES_ENDING.get(word[-1], ()):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= shortest:
            if suffix.startswith("ion") and base[-1] not in _ION_BEFORE:
                continue
            word = _undouble(base) + replacement
            break
    return _tidy_end(word)


def _strip_plural(word: str) -> str:
    """Drop a plural ending: "sses" → "ss", "xes"/"ches" → stem, "s" (not "ss", "us", "is").

    Names of fields in "-ics" keep their "s": "physics" is not "physical", "robotics" not "robotic".
    """
    if word.endswith("sses") or word.endswith(("xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ies", "ics")) and len(word) > 4:
        return word[:-1]
    return word


def _undouble(base: str) -> str:
    """Undo consonant doubling before a suffix ("modelling" → "model", "mapped" → "map")."""
    if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeiouslz":
        return base[:-1]
    if len(base) > 4 and base.endswith("ll"):
        return base[:-1]
    return base


def _tidy_end(word: str) -> str:
    """Make the end of a stem spelling-neutral: drop a final "e" and a verb's "-at(e)", write a
    final "y" as "i" ("generation", "generative", "generate" → "gener")."""
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 5 and word.endswith("at"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("y"):
        word = word[:-1] + "i"
    return word


def clean(text: str) -> str:
    """Remove inline LaTeX and `<EOS>` markers; join hyphenated prefixes to their word."""
    text = _LATEX.sub(" ", text.replace("<EOS>", " ").replace("\\&", "&"))
    return join_prefixes(text)


def join_prefixes(text: str) -> str:
    """Write "pre-training" and "pretraining", "non-autoregressive" and "nonautoregressive",
    the same way.

    The same as `_PREFIX.sub(r"\1", text)`, but the pattern is only tried at the hyphens: run
    over a whole abstract, it tries every position, and was a tenth of indexing the papers.
    """
    if "-" not in text:
        return text
    kept: list[str] = []
    start = 0
    at = text.find("-")
    while at != -1:
        if _joins_prefix(text, at):
            kept.append(text[start:at])
            start = at + 1
        at = text.find("-", at + 1)
    return "".join([*kept, text[start:]]) if kept else text


def _joins_prefix(text: str, at: int) -> bool:
    """Whether `_PREFIX` matches a prefix ending at the hyphen at `at` (the letters around it
    are checked first, as most hyphens join other words)."""
    if not (text[at - 1 : at].isalpha() and text[at + 1 : at + 2].isalpha()):
        return False
    for size in _PREFIX_SIZES:
        found = _PREFIX.match(text, at - size) if at >= size else None
        if found and found.end() == at + 1:
            return True
    return False


def sentences(text: str) -> list[str]:
    """Split text where a phrase should not run across (sentence ends, colons, dashes)."""
    return [part for part in _SENTENCE_END.split(text) if part.strip()]


def is_acronym_shaped(word: str) -> bool:
    """True for "RAG", "MoE", "dLLM", "T2I": two capitals, or a capital after a lower letter."""
    capitals = sum(ch.isupper() for ch in word)
    return capitals >= 2 or (capitals == 1 and not word[0].isupper())


def find_definitions(text: str) -> dict[str, str]:
    """Find "Long Form (LF)" definitions in a text: short form → long form.

    Uses the Schwartz–Hearst rule: every letter of the short form appears, in order, in the
    words just before the parenthesis, and its first letter starts one of them.
    """
    found: dict[str, str] = {}
    for match in _DEFINITION.finditer(text):
        short = match.group(1)
        if not is_acronym_shaped(short) and not short.isupper():
            continue
        before = WORD.findall(text[max(0, match.start() - 120) : match.start()])
        words = before[-min(len(short) + 5, 2 * len(short)) :]
        long_form = _best_long_form(short, " ".join(words))
        if long_form and len(long_form.split()) > 1:
            found[short.rstrip("s") if short.endswith("s") else short] = long_form
    return found


def strip_definitions(text: str) -> str:
    """Drop "(LF)" after its long form, so a definition does not count the long form twice."""
    return _DEFINITION.sub(" ", text)


def _best_long_form(short: str, candidate: str) -> str | None:
    """Schwartz–Hearst backwards match of `short`'s characters inside `candidate`."""
    s_idx, l_idx = len(short) - 1, len(candidate) - 1
    while s_idx >= 0:
        char = short[s_idx].lower()
        if not char.isalpha():
            s_idx -= 1
            continue
        while l_idx >= 0 and (
            candidate[l_idx].lower() != char
            or (s_idx == 0 and l_idx > 0 and candidate[l_idx - 1].isalnum())
        ):
            l_idx -= 1
        if l_idx < 0:
            return None
        l_idx -= 1
        s_idx -= 1
    start = candidate.rfind(" ", 0, l_idx + 1) + 1
    return candidate[start:]


def expand_word(word: str, local: Mapping[str, str], *, query: bool) -> str | None:
    """The long form of an acronym, or None.

    A paper's own definitions win over the generic table. In papers only acronym-shaped
    words count ("RAG", not "rag"); in a subscriber's phrase any case does ("moe").
    """
    singular = word[:-1] if len(word) > 2 and word.endswith("s") else word
    for form in (word, singular):
        if form in local:
            return local[form]
    if query or is_acronym_shaped(singular):
        return ACRONYMS.get(singular.lower())
    return None


def words(text: str, local: Mapping[str, str] = {}, *, query: bool = False) -> Iterator[str]:
    """The lower-case words of one sentence, acronyms replaced by their long forms."""
    for word in WORD.findall(text):
        if word.islower() and not query:  # the common case: a plain word, never an acronym
            yield word
            continue
        long_form = expand_word(word, local, query=query)
        if long_form is None:
            yield lower_word(word, query=query)
        else:
            yield from WORD.findall(join_prefixes(long_form).lower())


def lower_word(word: str, *, query: bool) -> str:
    """The word in lower case, or the singular of an AMBIGUOUS_ACRONYMS plural ("ASRs"; in a
    profile phrase, any case)."""
    lower = word.lower()
    plural = len(lower) > 2 and lower[-1] == "s" and lower[:-1] in AMBIGUOUS_ACRONYMS
    return lower[:-1] if plural and (query or is_acronym_shaped(word[:-1])) else lower


def analyse(text: str, local: Mapping[str, str] = {}, *, query: bool = False) -> list[list[str]]:
    """Sentences of content stems: the unit that postings and phrase matching work on."""
    defined = _defined_words(local) if local and not query else frozenset()
    out = []
    for sentence in sentences(clean(text)):
        stems: list[str] = []
        for word in WORD.findall(sentence):
            if query or word in defined:
                stems.extend(_content_stems(word, local, query))
                continue
            found = _word_memo.get(word)
            if found is None:
                found = _remember(_word_memo, word, _content_stems(word, {}, False))
            stems.extend(found)
        if stems:
            out.append(stems)
    return out


# A word of a paper → its content stems (several for an acronym, none for a stop word): papers
# share most of their words, so each is analysed once. Words a paper defines itself ("MoE",
# "MoEs") do not go through it, as their stems depend on the paper.
_word_memo: dict[str, tuple[str, ...]] = {}


def word_stems(word: str) -> tuple[str, ...]:
    """The content stems of one word of a paper, as `analyse` finds them (memoised with it)."""
    found = _word_memo.get(word)
    if found is None:
        found = _remember(_word_memo, word, _content_stems(word, {}, False))
    return found


def _defined_words(local: Mapping[str, str]) -> frozenset[str]:
    """The words whose long form a paper's own definitions give (see `expand_word`)."""
    return frozenset([*local, *(short + "s" for short in local)])


def _content_stems(word: str, local: Mapping[str, str], query: bool) -> tuple[str, ...]:
    """The stems of one word of a sentence (see `words`), stop words left out."""
    return tuple(stem(w) for w in words(word, local, query=query) if w not in STOPWORDS)


# Greek letters as they are read aloud, so that "π0" is "pi0" and "β-VAE" is "beta-VAE"; and the
# Latin letters that decomposing does not take apart ("ß", "ø", "ł", "œ", "æ").
_SPELLED = str.maketrans(
    {
        letter: name
        for letters, names in (
            ("αβγδεζηθικλμνξοπρστυφχψω", "alpha beta gamma delta epsilon zeta eta theta iota kappa"
             " lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega"),
            ("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota"
             " Kappa Lambda Mu Nu Xi Omicron Pi Rho Sigma Tau Upsilon Phi Chi Psi Omega"),
            ("ς", "sigma"),  # the other letter forms ("ϕ", "ϰ") decompose to the plain letter
            ("ßøØłŁœŒæÆđĐı", "ss o O l L oe OE ae AE d D i"),
        )
        for letter, name in zip(letters, names.split(), strict=True)
    }
)


def fold(text: str) -> str:
    """Text with accents taken off, ligatures and compatibility forms undone, and Greek letters
    spelled out ("Schrödinger", "Schrodinger"; "ﬁne-tuning", "fine-tuning"; "µP", "muP";
    "π0", "pi0"): words are ASCII (`WORD`), and papers and phrases write the same word either
    way. Decomposed first, so that the micro sign, accented Greek and math letters come out as
    the plain letters that are then spelled out."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join([c for c in decomposed if not unicodedata.combining(c)])
    return plain.translate(_SPELLED)


def normalise_name(name: str) -> str:
    """A person's name without accents, case or punctuation ("Jérôme d'Arc" → "jerome d arc",
    "Łukasz" → "lukasz")."""
    plain = fold(name).encode("ascii", "ignore").decode()
    return " ".join(_NOT_ALNUM.sub(" ", plain.lower()).split())  # ASCII: lower is casefold


@functools.lru_cache(maxsize=65536)
def name_keys(name: str) -> tuple[str, ...]:
    """Keys a paper's author is found under: the full name, and initial + last name."""
    parts = normalise_name(name).split()
    if len(parts) < 2:
        return tuple(parts)
    return (" ".join(parts), f"{parts[0][0]} {parts[-1]}")


@functools.lru_cache(maxsize=65536)
def followed_key(name: str) -> str:
    """A followed author's key: initial + last name if given as "P. Liang", else the full name.

    So "Percy Liang" finds only Percy Liang, and "P. Liang" any P. Liang; "Liang, Percy" (as
    a reference list writes it) is Percy Liang.
    """
    last, comma, first = name.partition(",")
    parts = normalise_name(f"{first} {last}" if comma else name).split()
    if len(parts) >= 2 and len(parts[0]) == 1:
        return f"{parts[0]} {parts[-1]}"
    return " ".join(parts)
