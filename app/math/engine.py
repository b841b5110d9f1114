"""The symbolic derivation engine: new problems the way the paper made them.

A derivation starts from a premise that defines a function (`f(x) = sin(x)`) and
applies engine operations (add, times, differentiate, evaluate_integrals, ...)
for 4-9 steps. The prompt is "Given P, then derive M, then obtain G"; the four
perturbations are VR (rename symbols), EE (swap sides), AG (another final
operation) and SR (drop M from the prompt). Everything is drawn from one
`random.Random(seed)`, so a seed reproduces a problem set exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import sympy
from sympy import Derivative, Eq, Function, Integral, Symbol

from app.math.calculus import easy_integral, evaluate_integrals, has_undefined
from app.math.limits import ENGINE_OP_SECONDS, TooSlow, time_limit
from app.math.operations import TABLE

# Names as the paper wrote them (SymPy symbol names hold LaTeX).
SYMBOLS = ["x", "y", "z", "a", "b", "c", "r", "s", "t", "u", "v", "w", "J", "L", "\\alpha", "\\beta", "\\gamma",
           "\\theta", "\\phi", "\\varphi", "\\lambda", "\\sigma", "\\tau", "\\mathbf{r}", "\\mathbf{s}", "\\mathbf{J}",
           "\\hat{x}_0", "\\Psi_{\\lambda}", "P_e", "t_2",
           # decorated names the paper's files hold (primes, stars, daggers, braced and bare subscripts)
           "f^{\\prime}", "\\psi^*", "a^{\\dagger}", "\\theta_{1}", "\\omicron", "\\mathbf{v}", "\\hat{\\iota}"]
FUNCTIONS = ["f", "g", "h", "m", "\\eta", "\\mathbb{I}", "\\mathbf{M}", "F_c", "C_d", "J_{\\varepsilon}",
             "\\hat{p}_0", "V_{\\mathbf{B}}", "\\hat{X}", "\\mathbf{S}", "Fc", "\\vartheta_1", "\\tau^{\\prime}"]
CONSTANTS = ["C", "K", "F_g", "c_1", "\\kappa"]
# Variable renaming draws from names that never appear in the vocabulary above.
UNSEEN_SYMBOLS = ["q", "k", "n", "p", "\\xi", "\\zeta", "\\omega", "\\chi", "\\mathbf{q}", "\\mathbf{k}", "\\hat{y}_1",
                  "\\Omega_{\\mu}", "Q_m", "k_3", "\\nu", "\\rho", "\\upsilon", "\\mathbf{w}", "B_t", "\\iota"]
UNSEEN_FUNCTIONS = ["\\psi", "\\mathcal{F}", "G_k", "\\Phi", "\\hat{q}", "\\mathbf{U}", "H_{\\nu}", "\\ell",
                    "\\operatorname{Wq}", "\\hat{\\Upsilon}", "P^{*}", "\\varphi_{2}"]

# the order the engine draws from (app.math.operations.TABLE says how each is applied)
OPERATIONS = ["add", "minus", "times", "divide", "power", "differentiate", "integrate", "cos", "sin", "exp", "log",
              "expand", "evaluate_derivatives", "evaluate_integrals", "substitute_LHS_for_RHS",
              "substitute_RHS_for_LHS"]
MAX_OPS = 45  # keep equations readable (and SymPy fast)
OP_SECONDS = ENGINE_OP_SECONDS  # a guard only: the filters above keep every operation far below it


@dataclass
class Step:
    operation: str  # "premise" or an engine operation
    sources: tuple[int, ...]  # indices of the steps it was made from
    argument: object | None
    equation: Eq


@dataclass
class Problem:
    steps: list[Step]
    intermediate: int  # index of the "then derive" step
    variant: str = "static"
    parent: "Problem | None" = None
    # The prompt's parts (SR drops the intermediate; AG changes the goal)
    prompt_steps: list[int] = field(default_factory=list)

    @property
    def equations(self) -> list[Eq]:
        return [s.equation for s in self.steps]

    @property
    def premise(self) -> Eq:
        return self.steps[0].equation

    @property
    def goal(self) -> Eq:
        return self.steps[-1].equation


def to_latex(expr) -> str:
    """SymPy's LaTeX in the paper's style: `\\eta{(a)}`, `\\int f{(x)} dx`."""
    text = sympy.latex(expr)
    return text.replace("\\left(", "(").replace(" \\right)", ")").replace("\\right)", ")").replace("\\, d", " d")


def prompt_text(problem: Problem) -> str:
    eqs = problem.equations
    parts = [f"Given {to_latex(eqs[0])}"]
    if problem.variant != "SR":
        parts.append(f"then derive {to_latex(eqs[problem.intermediate])}")
    parts.append(f"then obtain {to_latex(eqs[-1])}")
    return ", ".join(parts)


def reference_text(problem: Problem) -> str:
    return " and ".join(to_latex(eq) for eq in problem.equations)


def _size(eq: Eq) -> int:
    return sympy.count_ops(eq.lhs) + sympy.count_ops(eq.rhs)


class Engine:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    # --- vocabulary ----------------------------------------------------------
    def _premise(self, used: set[str]) -> Eq:
        rng = self.rng
        names = [n for n in SYMBOLS if n not in used]
        args = [Symbol(n) for n in rng.sample(names, rng.choice([1, 1, 2]))]
        fname = rng.choice(FUNCTIONS)
        x = args[0]
        other = args[1] if len(args) > 1 else x
        body = rng.choice([
            sympy.sin(x), sympy.cos(x), sympy.exp(x), x**2, x + other, x * other, other - x, x**3 / 3,
            Derivative(sympy.sin(x), x), Derivative(x * other, x), sympy.cos(x) + x,
        ])
        return Eq(Function(fname)(*args), body)

    def _term(self, eq: Eq):
        rng = self.rng
        free = sorted(eq.free_symbols, key=str)
        choice = rng.random()
        if choice < 0.5 and free:
            return rng.choice(free)
        if choice < 0.8:
            fresh = [n for n in SYMBOLS if Symbol(n) not in eq.free_symbols]
            return Symbol(rng.choice(fresh))
        return sympy.Integer(rng.choice([2, 3]))

    # --- operations -------------------------------------------------------
    def apply(self, op: str, eqs: list[Eq], source: int) -> tuple[Eq, object, tuple[int, ...]] | None:
        """One operation on eqs[source]; None when it does not apply, changes nothing or
        takes SymPy too long (a hard integral, a huge expansion)."""
        try:
            with time_limit(OP_SECONDS):
                return self._apply(op, eqs, source)
        except (TooSlow, RecursionError):
            return None
        except Exception:  # SymPy's integrator has its own bugs; that operation is simply not taken
            return None

    def _apply(self, op: str, eqs: list[Eq], source: int) -> tuple[Eq, object, tuple[int, ...]] | None:
        """The engine's choice of argument for `op`; TABLE applies it."""
        rng = self.rng
        eq = eqs[source]
        arg: object = None
        applied_arg: object = None  # what TABLE is given, where it differs from what is recorded
        sources: tuple[int, ...] = (source,)
        if op in ("add", "minus", "times", "divide", "power"):
            arg = self._term(eq)
            if op == "power":
                arg = sympy.Integer(2) if rng.random() < 0.5 else arg
        elif op in ("differentiate", "integrate"):
            # never by a constant of integration: it stands for any constant
            free = sorted((s for s in eq.free_symbols if s.name not in CONSTANTS), key=str)
            if not free:
                return None
            arg = rng.choice(free)
        elif op == "evaluate_integrals":
            if not all(easy_integral(i) for i in eq.atoms(Integral) if not has_undefined(i.function)):
                return None
            if any(d.expr.has(Integral) for d in eq.atoms(Derivative)):
                return None  # the constant would land outside the derivative
            if evaluate_integrals(eq.lhs) == eq.lhs and evaluate_integrals(eq.rhs) == eq.rhs:
                return None
            arg = Symbol(rng.choice([c for c in CONSTANTS if Symbol(c) not in eq.free_symbols]))
        elif op in ("substitute_LHS_for_RHS", "substitute_RHS_for_LHS"):
            other = rng.randrange(len(eqs))
            if other == source:
                return None
            pattern = eqs[other].rhs if op == "substitute_LHS_for_RHS" else eqs[other].lhs
            if pattern.is_Atom:
                return None
            arg, applied_arg, sources = other, eqs[other], (source, other)
        elif op not in TABLE:
            raise ValueError(f"unknown operation {op}")
        result = TABLE[op].apply(eq, arg if applied_arg is None else applied_arg)
        if result is None:
            return None
        if result.lhs == result.rhs or result == eq or result.has(sympy.Piecewise, sympy.zoo, sympy.nan):
            return None
        if any(result == e or result == Eq(e.rhs, e.lhs, evaluate=False) for e in eqs):
            return None
        if _size(result) > MAX_OPS:
            return None
        return result, arg, sources

    def derivation(self) -> Problem:
        rng = self.rng
        while True:
            premise = self._premise(set())
            steps = [Step("premise", (), None, premise)]
            length = rng.randint(4, 9)
            attempts = 0
            while len(steps) < length and attempts < 60:
                attempts += 1
                eqs = [s.equation for s in steps]
                # mostly chain on the latest equation, as the paper's derivations do
                source = len(eqs) - 1  # always the latest: every step is used by the next (none irrelevant)
                op = self._pick_operation(eqs[source])
                made = self.apply(op, eqs, source)
                if made:
                    result, arg, sources = made
                    steps.append(Step(op, sources, arg, result))
            if len(steps) >= 4:
                return Problem(steps=steps, intermediate=max(1, len(steps) // 2))

    def _pick_operation(self, eq: Eq) -> str:
        rng = self.rng
        if eq.has(Derivative) and rng.random() < 0.5:
            return "evaluate_derivatives"
        if eq.has(Integral) and rng.random() < 0.5:
            return "evaluate_integrals"
        weights = {"add": 3, "minus": 2, "times": 3, "divide": 2, "power": 1, "differentiate": 3, "integrate": 2,
                   "cos": 0.3, "sin": 0.3, "exp": 0.5, "log": 0.3, "expand": 1, "substitute_LHS_for_RHS": 1.5,
                   "substitute_RHS_for_LHS": 1.5}
        return rng.choices(list(weights), weights=list(weights.values()))[0]

    # --- perturbations ---------------------------------------------------
    def perturb(self, problem: Problem, variant: str) -> Problem | None:
        if variant == "SR":
            return Problem(steps=problem.steps, intermediate=problem.intermediate, variant="SR", parent=problem)
        if variant == "EE":
            steps = [Step(s.operation, s.sources, s.argument, Eq(s.equation.rhs, s.equation.lhs, evaluate=False))
                     for s in problem.steps]
            return Problem(steps=steps, intermediate=problem.intermediate, variant="EE", parent=problem)
        if variant == "VR":
            return self._rename(problem)
        if variant == "AG":
            return self._alternative_goal(problem)
        raise ValueError(f"unknown perturbation {variant}")

    def _rename(self, problem: Problem) -> Problem:
        rng = self.rng
        eqs = problem.equations
        symbols = sorted(set().union(*(e.free_symbols for e in eqs)), key=str)
        functions = sorted({f.func for e in eqs for f in e.atoms(sympy.core.function.AppliedUndef)}, key=str)
        new_symbols = rng.sample(UNSEEN_SYMBOLS, len(symbols))
        new_functions = rng.sample(UNSEEN_FUNCTIONS, len(functions))
        sym_map = {s: Symbol(n) for s, n in zip(symbols, new_symbols)}
        fun_map = {f: Function(n) for f, n in zip(functions, new_functions)}

        def rename(expr):
            expr = expr.xreplace(sym_map)
            return expr.replace(lambda e: isinstance(e, sympy.core.function.AppliedUndef) and e.func in fun_map,
                                lambda e: fun_map[e.func](*e.args))

        steps = [Step(s.operation, s.sources, s.argument, Eq(rename(s.equation.lhs), rename(s.equation.rhs),
                                                               evaluate=False)) for s in problem.steps]
        return Problem(steps=steps, intermediate=problem.intermediate, variant="VR", parent=problem)

    def _alternative_goal(self, problem: Problem) -> Problem | None:
        last = problem.steps[-1]
        eqs = problem.equations[:-1]
        source = last.sources[0] if last.sources else len(eqs) - 1
        for _ in range(20):
            op = self._pick_operation(eqs[source])
            if op == last.operation:
                continue
            made = self.apply(op, eqs, source)
            if made and made[0] != last.equation:
                result, arg, sources = made
                steps = problem.steps[:-1] + [Step(op, sources, arg, result)]
                return Problem(steps=steps, intermediate=problem.intermediate, variant="AG", parent=problem)
        return None


def generate(count: int, seed: int, perturbations: tuple[str, ...] = ("VR", "EE", "AG", "SR")) -> list[list[Problem]]:
    """`count` problems, each followed by its perturbed variants: [[static, VR, EE, AG, SR], ...]."""
    engine = Engine(seed)
    out = []
    for _ in range(count):
        static = engine.derivation()
        family = [static]
        for variant in perturbations:
            perturbed = engine.perturb(static, variant)
            if perturbed is not None:
                family.append(perturbed)
        out.append(family)
    return out
