"""The checker on hand-made derivations whose errors are known: one case per
kind of error, plus correct ones. Each verdict is checked, not just 'a flag'."""

import pytest
import sympy

from app.math.checker import check_derivation

P = r"f{(x)} = x^{2}"
G = r"x \frac{d}{d x} f{(x)} = 2 x^{2}"

# (name, premises, goal, steps, {step: {label: verdict}}, goal_reached)
CASES = [
    ("correct chain", [P], G,
     [P, r"\frac{d}{d x} f{(x)} = \frac{d}{d x} x^{2}", r"\frac{d}{d x} f{(x)} = 2 x", G],
     {1: {"incorrect": "no", "redundant": "no", "skipped": "no", "irrelevant": "no"},
      2: {"incorrect": "no", "skipped": "no", "irrelevant": "no"}, 3: {"incorrect": "no", "skipped": "no"},
      4: {"incorrect": "no", "skipped": "no"}}, "yes"),
    ("wrong derivative", [P], G,
     [P, r"\frac{d}{d x} f{(x)} = 3 x", r"x \frac{d}{d x} f{(x)} = 3 x^{2}"],
     {2: {"incorrect": "yes"}, 3: {"incorrect": "no"}}, "no"),  # step 3 is built on step 2's error
    ("sign slip", [r"g{(t)} = \sin{(t)}"], r"\frac{d}{d t} g{(t)} = \cos{(t)}",
     [r"g{(t)} = \sin{(t)}", r"\frac{d}{d t} g{(t)} = - \cos{(t)}"], {2: {"incorrect": "yes"}}, "no"),
    ("skipped steps", [P], G, [P, G], {2: {"skipped": "yes", "incorrect": "no"}}, "yes"),
    ("repeat", [P], G,
     [P, r"\frac{d}{d x} f{(x)} = 2 x", r"\frac{d}{d x} f{(x)} = 2 x", G],
     {3: {"redundant": "yes"}, 2: {"redundant": "no"}}, "yes"),
    ("repeat with sides swapped", [P], G,
     [P, r"\frac{d}{d x} f{(x)} = 2 x", r"2 x = \frac{d}{d x} f{(x)}", G], {3: {"redundant": "yes"}}, "yes"),
    ("irrelevant detour", [P], r"2 f{(x)} = 2 x^{2}",
     [P, r"f{(x)} + y = x^{2} + y", r"2 f{(x)} = 2 x^{2}"],
     {2: {"irrelevant": "yes", "incorrect": "no"}, 3: {"irrelevant": "no"}}, "yes"),
    ("goal missed but correct", [P], G, [P, r"f{(x)} + 1 = x^{2} + 1"],
     {2: {"incorrect": "no", "skipped": "no"}}, "no"),
    ("integral with constant", [r"h{(u)} = \cos{(u)}"], r"\int h{(u)} du = C + \sin{(u)}",
     [r"h{(u)} = \cos{(u)}", r"\int h{(u)} du = \int \cos{(u)} du", r"\int h{(u)} du = C + \sin{(u)}"],
     {2: {"incorrect": "no", "skipped": "no"}, 3: {"incorrect": "no", "skipped": "no"}}, "yes"),
    ("wrong integral", [r"h{(u)} = \cos{(u)}"], r"\int h{(u)} du = C + \sin{(u)}",
     [r"h{(u)} = \cos{(u)}", r"\int h{(u)} du = C - \sin{(u)}"], {2: {"incorrect": "yes"}}, "no"),
    ("unparsed step", [P], G, [P, r"\frac{d}{d x} f{(x) = 2", G],  # the goal is written, but a step is unread
     {2: {"incorrect": "unknown", "skipped": "unknown", "redundant": "unknown"}}, "unknown"),
    ("T5 spacing", [P], r"\frac{d}{d x} f{(x)} = 2 x",
     [r"f { (x) } = x ^ { 2 }", r"\ frac { d } { d x } f { (x) } = 2 x"], {2: {"incorrect": "no"}}, "yes"),
    ("times and divide", [r"m{(a,b)} = a b"], r"\frac{m{(a,b)}}{a} = b",
     [r"m{(a,b)} = a b", r"\frac{m{(a,b)}}{a} = b"], {2: {"incorrect": "no", "skipped": "no"}}, "yes"),
    ("wrong division", [r"m{(a,b)} = a b"], r"\frac{m{(a,b)}}{a} = b",
     [r"m{(a,b)} = a b", r"\frac{m{(a,b)}}{a} = a"], {2: {"incorrect": "yes"}}, "no"),
    ("exponential", [r"\eta{(a)} = e^{a}"], r"\frac{d}{d a} \eta{(a)} = \eta{(a)}",
     [r"\eta{(a)} = e^{a}", r"\frac{d}{d a} \eta{(a)} = \frac{d}{d a} e^{a}", r"\frac{d}{d a} \eta{(a)} = e^{a}",
      r"\frac{d}{d a} \eta{(a)} = \eta{(a)}"],
     {2: {"incorrect": "no", "skipped": "no"}, 3: {"incorrect": "no", "skipped": "no"}, 4: {"incorrect": "no"}}, "yes"),
    ("wrong exponent", [r"\eta{(a)} = e^{a}"], r"\frac{d}{d a} \eta{(a)} = e^{a}",
     [r"\eta{(a)} = e^{a}", r"\frac{d}{d a} \eta{(a)} = e^{2 a}"], {2: {"incorrect": "yes"}}, "no"),
    ("power of both sides", [P], r"f^{2}{(x)} = x^{4}", [P, r"f^{2}{(x)} = x^{4}"],
     {2: {"incorrect": "no", "skipped": "no"}}, "yes"),
    ("add to both sides", [P], r"f{(x)} + y = x^{2} + y", [P, r"f{(x)} + y = x^{2} + y"],
     {2: {"incorrect": "no", "skipped": "no"}}, "yes"),
    ("wrong addition", [P], r"f{(x)} + y = x^{2} + y", [P, r"f{(x)} + y = x^{2} + 2 y"],
     {2: {"incorrect": "yes"}}, "no"),
    ("second derivative skipped", [P], r"\frac{d^{2}}{d x^{2}} f{(x)} = 2",
     [P, r"\frac{d^{2}}{d x^{2}} f{(x)} = 2"], {2: {"skipped": "yes", "incorrect": "no"}}, "yes"),
    ("expression exchange", [r"x^{2} = f{(x)}"], r"2 x = \frac{d}{d x} f{(x)}",
     [r"x^{2} = f{(x)}", r"\frac{d}{d x} x^{2} = \frac{d}{d x} f{(x)}", r"2 x = \frac{d}{d x} f{(x)}"],
     {2: {"incorrect": "no", "skipped": "no"}, 3: {"incorrect": "no", "skipped": "no"}}, "yes"),
    ("chain restates the premise twice", [P], G, [P, P, G], {2: {"redundant": "yes"}}, "yes"),
]


@pytest.mark.parametrize("name,premises,goal,steps,expected,goal_reached", CASES, ids=[c[0] for c in CASES])
def test_known_answers(name, premises, goal, steps, expected, goal_reached):
    result = check_derivation(premises, goal, steps)
    assert len(result.steps) == len(steps)
    for index, labels in expected.items():
        verdicts = result.steps[index - 1].verdicts
        for label, value in labels.items():
            assert verdicts[label].value == value, (index, label, verdicts[label].reason)
            assert verdicts[label].reason  # every suggestion says why
    assert result.goal_reached.value == goal_reached, result.goal_reached.reason


def test_built_on_an_error_is_said_so():
    result = check_derivation([P], G, [P, r"\frac{d}{d x} f{(x)} = 3 x", r"x \frac{d}{d x} f{(x)} = 3 x^{2}"])
    third = result.steps[2]
    assert third.built_on_error and "built on an error" in third.verdicts["incorrect"].reason


def test_the_checker_finds_every_kind_of_error_somewhere_in_the_cases():
    """From the checker's own answers (not this file's table): each label gets a "yes" on
    some case, and a "no" on some other."""
    said: dict[str, set[str]] = {}
    for _, premises, goal, steps, _, _ in CASES:
        for step in check_derivation(premises, goal, steps).steps:
            for label, verdict in step.verdicts.items():
                said.setdefault(label, set()).add(verdict.value)
    assert {label for label, values in said.items() if "yes" in values} == {
        "incorrect", "irrelevant", "redundant", "skipped"}
    assert all("no" in said[label] for label in ("incorrect", "irrelevant", "redundant", "skipped"))


def test_a_crash_on_one_step_is_that_steps_error_not_the_derivations(monkeypatch):
    # SymPy raises on some inputs ('Subs' object has no attribute 'variable_count'); such a
    # crash must cost only its step, and say what it was rather than "out of time".
    from app.math import checker

    real = checker._one_operation

    def crashing(src, dst, others):
        if dst.has(sympy.Symbol("y")):
            raise AttributeError("'Subs' object has no attribute 'variable_count'")
        return real(src, dst, others)

    monkeypatch.setattr(checker, "_one_operation", crashing)
    result = check_derivation(["f{(x)} = x^{2}"], None, [r"f{(x)} + y = x^{2} + y", r"f{(x)} = x^{2} + 0"])
    first, second = result.steps
    assert {first.verdicts[label].value for label in ("incorrect", "redundant", "skipped")} == {"unknown"}
    assert "variable_count" in first.verdicts["incorrect"].reason
    assert "time" not in first.verdicts["incorrect"].reason
    assert second.verdicts["incorrect"].value == "no"


def test_a_checker_error_is_reported_as_an_error_not_a_timeout():
    from app.math.sandbox import Sandbox
    from app.services.checking import check_items

    box = Sandbox(workers=1)
    try:
        # premises None: check_derivation itself raises (TypeError) in the sandbox
        [checked] = list(check_items(box, [(7, None, None, ["x = 1"], None)]))
    finally:
        box.close()
    assert checked.derivation_id == 7 and not checked.timed_out and checked.parse == {} and checked.proposals == []
    rows = checked.rows
    assert rows and all(r["verdict"] == "unknown" and r["reason"].startswith("the checker failed: TypeError")
                        for r in rows)


def test_the_goal_written_after_a_wrong_step_is_stated_not_reached():
    """The prompt gives the goal, so writing it last proves little: reached needs no incorrect
    step on the way. Both are reported."""
    wrong_then_goal = [P, r"\frac{d}{d x} f{(x)} = 3 x", G]
    result = check_derivation([P], G, wrong_then_goal)
    assert result.steps[1].verdicts["incorrect"].value == "yes"
    assert result.goal_stated.value == "yes"
    assert result.goal_reached.value == "no" and "step 2 is incorrect" in result.goal_reached.reason
    right = check_derivation([P], G, [P, r"\frac{d}{d x} f{(x)} = 2 x", G])
    assert (right.goal_stated.value, right.goal_reached.value) == ("yes", "yes")
    unread = check_derivation([P], G, [P, r"\frac{d}{d x} f{(x) = 2", G])
    assert (unread.goal_stated.value, unread.goal_reached.value) == ("yes", "unknown")


def test_a_constant_of_integration_already_fixed_cannot_change():
    """`∫ g = F + κ` is true up to a constant; dividing by 3 and adding 1 on one side is not,
    once an earlier step fixed κ: the offset is a number. A different constant's *name* is
    not an error (the engine treats constants as interchangeable)."""
    premise = r"g{(u)} = \cos{(u)}"
    fixed = r"\int g{(u)} du = \kappa + \sin{(u)}"
    wrong = check_derivation([premise], None, [premise, fixed, r"\frac{\int g{(u)} du}{3} = \frac{\kappa}{3} + 1 + \frac{\sin{(u)}}{3}"])
    verdict = wrong.steps[2].verdicts["incorrect"]
    assert verdict.value == "yes" and "already fixed" in verdict.reason
    renamed = check_derivation([premise], None, [premise, fixed, r"\int g{(u)} du = C + \sin{(u)}"])
    assert renamed.steps[2].verdicts["incorrect"].value == "no"


def test_an_integral_a_derivative_removes_leaves_no_constant_to_allow_for():
    """d/dv of (v + ∫ w g(w) dw) is 1 exactly: "= 2" is wrong, not "true up to a constant"."""
    premise = r"g{(w)} = \sin{(w)}"
    result = check_derivation([premise], None, [premise, r"\frac{\partial}{\partial v} (v + \int w g{(w)} dw) = 2"])
    assert result.steps[1].verdicts["incorrect"].value == "yes"


def test_prose_steps_are_read_for_their_one_equation_and_unknown_otherwise():
    """Chain-of-thought steps: the equation in the prose is checked; prose without one (or with
    several) is "unknown", never a guess."""
    from app.math.checker import check_derivation

    steps = [r"We are given $f{(x)} = x^{2}$.", r"Differentiating, $\frac{d}{d x} f{(x)} = 3 x$.",
             "So the slope doubles as x doubles.", r"Both $x = 1$ and $y = 2$ hold."]
    result = check_derivation([r"f{(x)} = x^{2}"], None, steps)
    assert [s.parsed for s in result.steps] == [True, True, False, False]
    assert result.steps[1].verdicts["incorrect"].value == "yes"
    assert {v.value for v in result.steps[2].verdicts.values()} == {"unknown"}
