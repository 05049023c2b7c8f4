#!/usr/bin/env python3
"""`mnemo eval --show` against training/data/retrieval.py: the samples the C++ builds must use
retrieval.py's TEMPLATES, FILLER and WORDS and its layout (intro, needles, questions, answers),
so that evaluation stays in-distribution when either side changes.

    check_eval_layout.py MNEMO_EXE MODEL.gguf REPO_DIR
"""
import re
import subprocess
import sys


def main() -> int:
    exe, model, repo = sys.argv[1:4]
    sys.path.insert(0, repo + "/training/data")
    import retrieval as r  # noqa: E402  (needs only the standard library)

    out = subprocess.run([exe, "eval", model, "--lengths", "2K", "--show", "--seed", "7"],
                         check=True, capture_output=True, text=True).stdout
    samples = dict(re.findall(r"==== (\S+), 2048 tokens, seed 7\n(.*?)(?=\n==== |\Z)", out, re.S))
    assert set(samples) == set(r.TASKS), f"suites shown: {sorted(samples)}"
    T = r.TEMPLATES
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    for task, text in samples.items():
        answers = re.findall(r"\[\[ (.*?)\]\]", text)
        check(answers, f"{task}: no answer")
        if task.startswith("niah"):
            kind = "uuid" if task == "niah-single-uuid" else "number"
            check(text.startswith(T["niah-intro"].format(kind=kind)), f"{task}: intro")
            needle = re.escape(T["niah-needle"]).replace(r"\{kind\}", kind)
            needle = needle.replace(r"\{key\}", "(?P<key>[a-z]+)").replace(r"\{value\}", "(?P<value>[0-9a-f-]+)")
            found = {m.group("key"): m.group("value") for m in re.finditer(needle, text)}
            check(len(found) == (4 if task == "niah-multikey" else 1), f"{task}: {len(found)} needles")
            check(all(k in r.WORDS for k in found), f"{task}: keys not from WORDS")
            for q in re.finditer(r"\n(.*?)\[\[ (.*?)\]\]\.", text):
                key = re.search(r"for (\w+) mentioned", q.group(1)).group(1)
                check(q.group(1) == T["niah-question"].format(kind=kind, key=key), f"{task}: question {q.group(1)!r}")
                check(found.get(key) == q.group(2), f"{task}: answer {q.group(2)} is not the needle's {found.get(key)}")
            if task == "niah-single-repeat":
                check(r.FILLER + " " + r.FILLER in text, f"{task}: filler")
                check(" " + T["niah-needle"].format(kind=kind, key=key, value=found[key]) + " " in text, f"{task}: needle between sentences")
            else:
                for k, v in found.items():
                    check("\n" + T["niah-needle"].format(kind=kind, key=k, value=v) + "\n" in text, f"{task}: needle line")
            fmt = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}" if kind == "uuid" else r"[1-9][0-9]{6}"
            check(all(re.fullmatch(fmt, v) for v in found.values()), f"{task}: value format {list(found.values())}")
        elif task == "mqar":
            check(text.startswith(T["mqar-intro"]), "mqar: intro")
            pairs = dict(re.findall(r"(?<=\n)The code for ([a-z]+) is ([0-9]{4})\.(?=\n)", text))
            check(len(pairs) == 16, f"mqar: {len(pairs)} pairs")
            qs = re.findall(r"\nThe code for ([a-z]+) is\[\[ ([0-9]{4})\]\]\.", text)
            check(len(qs) == 8 and len({k for k, _ in qs}) == 8, f"mqar: {len(qs)} queries")
            check(all(pairs.get(k) == v for k, v in qs), "mqar: answers are the pairs' codes")
            check(text.rstrip("\n").endswith("]]."), "mqar: ends with the last answer")
        elif task == "passkey":
            m = re.search(T["passkey-needle"].replace("{value}", "([0-9]{5})").replace(".", r"\."), text)
            check(m is not None, "passkey: needle")
            check(text.startswith(T["passkey-intro"] + " " + r.FILLER), "passkey: intro then filler")
            check(text.rstrip("\n").endswith("\n" + T["passkey-question"] + f"[[ {m.group(1) if m else ''}]]."), "passkey: question/answer")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(samples)} suites checked against retrieval.py, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
