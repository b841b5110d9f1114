"""Rewriting what models write into LaTeX that SymPy's parser reads faithfully.

The paper's notation comes from SymPy's own LaTeX printer: function application
as `\\eta{(a)}` or `\\operatorname{F_{g}}{(r,u)}`, decorated identifiers such as
`\\mathbf{r}`, `\\hat{x}_0`, `\\Psi_{\\lambda}`, `a^{\\dagger}`, higher derivatives
`\\frac{d^{2}}{d a^{2}}`, `\\iint`. T5 outputs add tokenizer spacing (`\\ frac { d }`)
and lose leading backslashes. `parse_latex` misreads most of that (`\\mathbf{s}`
becomes `mathbf*s`), so every identifier is swapped for a one-letter placeholder
before parsing and mapped back to its real name after (see app.math.latex).
Pure string work: nothing here evaluates anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "omicron", "rho", "varrho", "sigma", "varsigma", "tau", "upsilon",
    "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon",
    "Phi", "Psi", "Omega", "nabla", "ell", "hbar",
}
DECORATORS = {
    "mathbf", "mathbb", "mathcal", "mathrm", "mathit", "mathsf", "mathfrak", "boldsymbol", "bm", "hat", "bar",
    "tilde", "vec", "dot", "ddot", "check", "breve", "widehat", "widetilde", "overline",
}
FUNCTIONS = {"sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan",
             "exp", "log", "ln", "sqrt"}
INTEGRALS = {"int": 1, "iint": 2, "iiint": 3}
SPACING = {",", ";", ":", "!", " ", "quad", "qquad", "left", "right", "displaystyle", "limits"}
KNOWN_COMMANDS = GREEK | DECORATORS | FUNCTIONS | set(INTEGRALS) | {
    "frac", "dfrac", "tfrac", "partial", "cdot", "times", "operatorname", "pi", "infty", "dagger", "prime", "ast",
}
# Placeholders: letters parse_latex reads as plain symbols (not d, e, i, E, I).
PLACEHOLDERS = [c for c in "abcfghjklmnopqrstuvwxyzABCDFGHJKLMNOPQRSTUVWXYZ"]

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[A-Za-z]|\d+(?:\.\d+)?|\s+|.", re.S)
_SPACED_COMMAND = re.compile(r"\\ ([A-Za-z]{2,})")
_T5_SIGNS = re.compile(r"\\ [A-Za-z]{2,}|[\^_] \{|\{ \(")
_LOST_BACKSLASH = re.compile(r"(^|[\s({=+\-*/^_,])(" + "|".join(sorted(KNOWN_COMMANDS - {"bar", "dot", "vec", "ell", "eta", "nu", "mu", "xi", "pi", "chi", "phi", "psi", "tau", "rho"}, key=len, reverse=True)) + r")(?=\s*[{(_^\s]|$)")


class NormalizeError(ValueError):
    """The text cannot be rewritten into something parseable (with where and why)."""


def undo_t5_spacing(text: str) -> str:
    """`\\ frac { d }` -> `\\frac { d }`; a command that lost its backslash gets it back.
    Only for text that shows T5 spacing: ordinary LaTeX is left alone."""
    if not _T5_SIGNS.search(text):
        return text
    joined = _SPACED_COMMAND.sub(r"\\\1", text)
    # Bare command names at the start of a step or after an operator (T5 drops the backslash);
    # short names that are also plausible products of letters are only fixed at the very start.
    joined = _LOST_BACKSLASH.sub(lambda m: m.group(1) + "\\" + m.group(2), joined)
    # At the very start any Greek name is one (`tau + \cos{(\tau)}`): SymPy prints a product of
    # letters with spaces (`h i p`), never run together, so a bare `phi` there is not p·h·i.
    # So is `pi`, and a decorator before its brace (`dot { z }`: SymPy prints d·o·t as `d o t`).
    joined = re.sub(r"^(\s*)(" + "|".join(sorted(DECORATORS, key=len, reverse=True)) + r")(?=\s*\{)",
                    r"\1\\\2", joined)
    return re.sub(r"^(\s*)(" + "|".join(sorted(GREEK | {"pi"}, key=len, reverse=True)) + r")(?=[\s{(_^+\-=*/,)]|$)",
                  r"\1\\\2", joined)


@dataclass
class Atom:
    """One identifier as written (`\\hat{x}_0`) and the name SymPy's printer gave it."""

    raw: str
    name: str


@dataclass
class Rewritten:
    text: str  # what parse_latex is given
    symbols: dict[str, str] = field(default_factory=dict)  # placeholder -> symbol name
    functions: dict[str, str] = field(default_factory=dict)  # placeholder -> function name
    euler: str | None = None  # placeholder standing for e (Euler's number)
    # placeholder -> (function name, argument names): a function that is the variable of a
    # derivative or an integral (`\\frac{d}{d f{(x)}}`, `d L{(A_y)}`), as the authors' engine makes
    applied: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def canonical_name(raw: str) -> str:
    """One spelling per identifier, however it is braced: `\\theta_1` and `\\theta_{1}`,
    `f^*` and `f^{*}`, `f'` and `f^{\\prime}`, `\\operatorname{F_{g}}` and `F_{g}` are one
    name. A one-token subscript or superscript is always braced (as SymPy prints it)."""
    name = re.sub(r"\s+", "", raw)
    if name == "\\bar{\\h}":  # SymPy 1.5's printer writes a function named hbar so
        return "\\hbar"
    m = re.fullmatch(r"\\operatorname\{(.*)\}", name)
    if m:
        name = m.group(1)
    name = re.sub(r"'+", lambda q: "^{" + "\\prime" * len(q.group(0)) + "}", name)
    tokens = _TOKEN.findall(name)
    out: list[str] = []
    for k, tok in enumerate(tokens):
        if k and tokens[k - 1] in ("_", "^") and tok != "{":
            out.append("{" + tok + "}")
        else:
            out.append(tok)
    return "".join(out)


def _pi_is_variable(tokens: list[str]) -> bool:
    """`\\pi` is a variable where the problem uses it as one (the authors' engine draws it as a
    plain symbol): a differential or derivative variable (`d\\pi`, `\\partial \\pi`), or an
    argument of an undefined function (`F_x{(\\pi)}`; nobody defines a function at the constant)."""
    words = [t for t in tokens if not t.isspace()]
    for k, t in enumerate(words):
        if t != "\\pi" or k == 0:
            continue
        if words[k - 1] in ("d", "\\partial"):
            return True
        if words[k - 1] in ("(", ",") and k + 1 < len(words) and words[k + 1] in (")", ","):
            depth, j = 0, k - 1
            while j >= 0:  # back to the '(' that opens this argument list
                depth += {")": 1, "(": -1}.get(words[j], 0)
                if depth < 0:
                    break
                j -= 1
            before = words[j - 1] if j >= 1 else ""
            if before == "{" and j >= 2:
                before = words[j - 2]
            if before and before != "}" and not (before.startswith("\\") and before[1:] in FUNCTIONS) \
                    and (before.startswith("\\") or re.fullmatch(r"[A-Za-z]", before)):
                return True
            if before == "}":  # \operatorname{F_{x}}{(\pi)}, \mathbf{v}{(\pi)}, F_{x}{(\pi)}: a name
                close = j - 1 if words[j - 1] == "}" else j - 2
                depth, m = 0, close
                while m >= 0:  # back to the group's '{'
                    depth += {"}": 1, "{": -1}.get(words[m], 0)
                    if depth == 0:
                        break
                    m -= 1
                opener = words[m - 1] if m >= 1 else ""
                if opener == "_" or (opener.startswith("\\") and (opener[1:] in DECORATORS or opener == "\\operatorname")):
                    return True
    return False


def constants_used_as_variables(latex: str) -> frozenset[str]:
    """Names that are constants elsewhere but variables in this equation (so in its problem)."""
    try:
        tokens = tokenize(undo_t5_spacing(latex))
    except Exception:
        return frozenset()
    return frozenset({"\\pi"}) if _pi_is_variable(tokens) else frozenset()


NO_LOWER_LIMIT = "\x00no lower limit"  # see _Rewriter.limits
READING_PRODUCT = "<a product of derivatives>"  # see _Rewriter.products_of_derivatives


class _Rewriter:
    def __init__(self, tokens: list[str], variables: frozenset[str] = frozenset()):
        self.tokens = list(tokens)
        self.pi_variable = "\\pi" in variables or _pi_is_variable(self.tokens)
        # the other reading of `\\frac{d}{d x} f \\frac{d}{d x} g` or `\\frac{d}{d x} f (g)^{2}`: the
        # operator acts on the one factor after it ((d/dx f)(d/dx g)), asked for by the checker
        # when the usual reading makes a step wrong (READING_PRODUCT travels with the problem's
        # variables, the one option every parse already carries)
        self.products_of_derivatives = READING_PRODUCT in variables
        self.out: list[str] = []
        self.by_name: dict[tuple[str, str], str] = {}
        self.result = Rewritten(text="")
        self.free = list(PLACEHOLDERS)

    # --- helpers over the token list -------------------------------------
    def skip_ws(self, i: int) -> int:
        while i < len(self.tokens) and self.tokens[i].isspace():
            i += 1
        return i

    def group_end(self, i: int) -> int:
        """Index just past the group starting at i: a {...} block, else one token."""
        i = self.skip_ws(i)
        if i >= len(self.tokens):
            raise NormalizeError("a command is missing its argument at the end")
        if self.tokens[i] != "{":
            return i + 1
        depth = 0
        for j in range(i, len(self.tokens)):
            if self.tokens[j] == "{":
                depth += 1
            elif self.tokens[j] == "}":
                depth -= 1
                if depth == 0:
                    return j + 1
        raise NormalizeError("unbalanced braces: a '{' is never closed")

    def group_inner(self, i: int) -> tuple[list[str], int]:
        i = self.skip_ws(i)
        end = self.group_end(i)
        inner = self.tokens[i + 1 : end - 1] if self.tokens[i] == "{" else self.tokens[i:end]
        return inner, end

    def placeholder(self, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in self.by_name:
            if not self.free:
                raise NormalizeError("too many different identifiers in one equation")
            letter = self.free.pop(0)
            self.by_name[key] = letter
            (self.result.symbols if kind == "symbol" else self.result.functions)[letter] = name
        return self.by_name[key]

    def applied_placeholder(self, function: Atom, args: list[str]) -> str:
        """A placeholder symbol standing for `f(x, y)` where a variable must be (SymPy's grammar
        takes only symbols there); put back as the applied function after parsing. Arguments
        must be plain names: anything else cannot be read."""
        names = []
        for arg in "".join(args).split(","):
            sub = _Rewriter(tokenize(arg), frozenset({"\\pi"}) if self.pi_variable else frozenset())
            found = sub.atom_at(sub.skip_ws(0)) if arg.strip() else None
            if not found or sub.skip_ws(found[1]) != len(sub.tokens):
                raise NormalizeError("a derivative or integral with respect to a function of an expression "
                                     "cannot be read")
            names.append(found[0].name)
        key = ("applied", function.name + "(" + ",".join(names) + ")")
        if key not in self.by_name:
            letter = self.placeholder("symbol", "\x00" + key[1])
            del self.result.symbols[letter]
            self.by_name[key] = letter
            self.result.applied[letter] = (function.name, tuple(names))
        return self.by_name[key]

    # --- atoms ------------------------------------------------------------
    def atom_at(self, i: int) -> tuple[Atom, int] | None:
        """An identifier starting at token i, or None."""
        tok = self.tokens[i]
        if re.fullmatch(r"[A-Za-z]", tok):
            end = i + 1
        elif tok.startswith("\\") and tok[1:] in GREEK:
            end = i + 1
        elif tok == "\\pi" and (self.pi_variable or self.call_args_at(i + 1) or self.power_then_call_at(i + 1)):
            end = i + 1  # a variable, or a function named pi: \\pi{(v,\\hat{p})}
        elif tok.startswith("\\") and (tok[1:] in DECORATORS or tok[1:] == "operatorname"):
            end = self.group_end(i + 1)
        else:
            return None
        # subscript, then decorations that are part of the name (dagger, star, prime)
        # (SymPy writes `g^{\\prime}_{\\varepsilon}` as well as `a_{1}^{\\dagger}`)
        subscript = decoration = False
        while True:
            j = self.skip_ws(end)
            if j < len(self.tokens) and self.tokens[j] == "_" and not subscript:
                end, subscript = self.group_end(j + 1), True
                continue
            if j < len(self.tokens) and self.tokens[j] == "^" and not decoration:
                inner, after = self.group_inner(j + 1)
                if "".join(t for t in inner if not t.isspace()) in ("\\dagger", "*", "\\prime", "\\ast"):
                    end, decoration = after, True
                    continue
            break
        while end < len(self.tokens) and self.tokens[end] == "'":
            end += 1
        raw = "".join(self.tokens[i:end]).strip()
        return Atom(raw=raw, name=canonical_name(raw)), end

    def call_args_at(self, i: int) -> tuple[list[str], int] | None:
        """`{(args)}` or `(args)` right after a name: a function application."""
        j = self.skip_ws(i)
        if j < len(self.tokens) and self.tokens[j] == "{":
            k = self.skip_ws(j + 1)
            if k < len(self.tokens) and self.tokens[k] == "(":
                inner, end = self.group_inner(j)
                body = [t for t in inner]
                while body and body[-1].isspace():
                    body.pop()
                while body and body[0].isspace():
                    body.pop(0)
                if body and body[0] == "(" and body[-1] == ")" and _balanced(body[1:-1]):
                    return body[1:-1], end
        if i < len(self.tokens) and self.tokens[i] == "(":  # f(x): no space before the parenthesis
            depth = 0
            for k in range(i, len(self.tokens)):
                depth += {"(": 1, ")": -1}.get(self.tokens[k], 0)
                if depth == 0:
                    return self.tokens[i + 1 : k], k + 1
            raise NormalizeError("unbalanced parentheses: a '(' is never closed")
        return None

    def power_then_call_at(self, i: int) -> tuple[list[str], list[str], int] | None:
        """`\\eta^{2}{(a)}`: SymPy prints a power of an applied function this way."""
        j = self.skip_ws(i)
        if j < len(self.tokens) and self.tokens[j] == "^":
            exponent, after = self.group_inner(j + 1)
            call = self.call_args_at(after)
            if call and self.skip_ws(after) < len(self.tokens) and self.tokens[self.skip_ws(after)] == "{":
                return exponent, call[0], call[1]
        return None

    # --- derivatives and integrals -----------------------------------------
    # Long because it reads the printer's derivative fraction token by token (numerator, order,
    # each variable and its power), one grammar.
    def derivative_at(self, i: int) -> tuple[str, int, list[str]] | None:
        """`\\frac{d^{n}}{d x^{n}}`, `\\frac{\\partial^{2}}{\\partial x\\partial y}`: the operator,
        the end of the fraction, and the variables' placeholders in the order the
        operators apply from the left (outermost first, as SymPy prints them)."""
        num, after_num = self.group_inner(i + 1)
        den, end = self.group_inner(after_num)
        num = [t for t in num if not t.isspace()]
        den = [t for t in den if not t.isspace()]
        if not num or num[0] not in ("d", "\\partial"):
            return None
        op = num[0]
        order = 1
        if len(num) > 1:
            m = re.fullmatch(r"\^\{?(\d+)\}?", "".join(num[1:]))
            if not m:
                if num[1] == "^" and den[:1] == [op]:
                    # a derivative of symbolic order (`\\frac{\\partial^{n}}{\\partial x^{n}}`, as the
                    # authors' engine can make): not readable, and never a fraction of symbols
                    raise NormalizeError("a derivative whose order is not a number")
                return None
            order = int(m.group(1))
        if not den or den[0] != op:
            return None
        # from here it is a derivative operator: a variable it cannot read is an error, not a
        # fraction (read as one, `\\frac{d^{2}}{d (x)^{2}}` became d²/(d·x(...)²), a wrong equation)
        variables: list[str] = []
        k = 0
        while k < len(den):
            if den[k] != op or k + 1 >= len(den):
                raise NormalizeError("a derivative's variable cannot be read")
            start, close = k + 1, None
            if den[start] == "(":  # d (f^{\\prime})^{2}: SymPy brackets decorated variables
                start, close = k + 2, True
            sub = _Rewriter(den[start:], frozenset({"\\pi"}) if self.pi_variable else frozenset())
            found = sub.atom_at(0) if start < len(den) else None
            if not found:
                raise NormalizeError("a derivative's variable cannot be read")
            atom, atom_end = found
            k = start + atom_end
            call = sub.call_args_at(atom_end)
            if call:  # with respect to a function: d/d f{(x)}
                letter = self.applied_placeholder(atom, call[0])
                k = start + call[1]
            if close:
                if k >= len(den) or den[k] != ")":
                    raise NormalizeError("a derivative's variable cannot be read")
                k += 1
            power = 1
            if k < len(den) and den[k] == "^":
                inner, after = _Rewriter(den).group_inner(k + 1)
                digits = "".join(inner)
                if not digits.isdigit():
                    raise NormalizeError("a derivative's order is not a number")
                power = int(digits)
                k = after
            variables += [letter if call else self.placeholder("symbol", atom.name)] * power
        if len(variables) == 1 and order > 1:
            variables *= order  # models sometimes drop the denominator's exponent
        if len(variables) != order:
            return None
        return op, end, variables

    # --- the pass ---------------------------------------------------------
    def run(self) -> Rewritten:
        self.out = self.rewrite(self.tokens)
        self.result.text = " ".join(t for t in self.out if not t.isspace())
        return self.result

    def rewrite(self, tokens: list[str]) -> list[str]:
        """The tokens for the grammar: at each position the first handler of HANDLERS that
        takes the token writes its rewriting to `out` and says where the next one starts."""
        saved, self.tokens = self.tokens, tokens
        out: list[str] = []
        i = 0
        try:
            while i < len(tokens):
                for handler in self.HANDLERS:
                    end = handler(self, i, out)
                    if end is not None:
                        i = end
                        break
            return out
        finally:
            self.tokens = saved

    # --- token handlers (HANDLERS below: the order they are tried in) --------------
    def _spacing(self, i: int, out: list[str]) -> int | None:
        tok = self.tokens[i]
        if tok.isspace() or tok.startswith("\\") and tok[1:] in SPACING or tok in ("\\,", "\\;", "\\!", "\\ ", "\\:"):
            return i + 1
        return None

    def _fraction(self, i: int, out: list[str]) -> int | None:
        """A derivative operator and its operand, braced, or a plain fraction."""
        tokens = self.tokens
        if tokens[i] not in ("\\frac", "\\dfrac", "\\tfrac"):
            return None
        found = self.derivative_at(i)
        if not found:
            num, after = self.group_inner(i + 1)
            den, end = self.group_inner(after)
            out += ["\\frac", "{", *self.rewrite(num), "}", "{", *self.rewrite(den), "}"]
            return end
        op, end, variables = found
        operators = [f"\\frac{{{op}}}{{{op} {letter}}}" for letter in variables]
        # The operand runs over the following factors up to the next derivative
        # operator (SymPy prints d/dx(2x) as `\\frac{d}{d x} 2 x`, and a product of
        # derivatives as `\\frac{d}{d x} f \\frac{d}{d y} g`); the grammar would take
        # the whole product, so the operator and its operand are braced
        operand_end = self.operand_end(end)
        k = self.skip_ws(end)
        if operand_end <= k:  # only spaces: no operand
            operand_end = end
        if operand_end == end and k < len(tokens) and tokens[k] == "-":
            # the printer writes d/dx(-f) as `\\frac{d}{d x} - f`: the minus is the
            # operand's (read as a difference, the operator had nothing to act on)
            operand_end = self.operand_end(k + 1)
            if operand_end > self.skip_ws(k + 1):
                out += ["{", *operators, "{", "-", *self.rewrite(tokens[k + 1:operand_end]), "}", "}"]
                return operand_end
            raise NormalizeError("a derivative operator has nothing to act on")
        if operand_end > end:
            out += ["{", *operators, "{", *self.rewrite(tokens[end:operand_end]), "}", "}"]
        else:
            out += operators
        return operand_end

    def _integral_handler(self, i: int, out: list[str]) -> int | None:
        tok = self.tokens[i]
        if not (tok.startswith("\\") and tok[1:] in INTEGRALS):
            return None
        out += self.integral(i)
        return self.integral_end

    def _named_function(self, i: int, out: list[str]) -> int | None:
        """\\sin^{2}{(x)} -> (\\sin(x))^{2}; \\sin{(x)} -> \\sin(x)"""
        tokens, tok = self.tokens, self.tokens[i]
        if not (tok.startswith("\\") and tok[1:] in FUNCTIONS):
            return None
        j = self.skip_ws(i + 1)
        power = None
        if j < len(tokens) and tokens[j] == "^":
            power, j = self.group_inner(j + 1)
        call = self.call_args_at(j)
        if not call:
            out.append(tok)
            return i + 1
        args, end = call
        applied = [tok, "(", *self.rewrite(args), ")"]
        out += ["{", "(", *applied, ")", "}", "^", "{", *self.rewrite(power), "}"] if power else applied
        return end

    def _identifier(self, i: int, out: list[str]) -> int | None:
        """A symbol, or a function applied (`f{(x)}`, `\\eta^{2}{(a)}`), as a placeholder."""
        tokens = self.tokens
        found = self.atom_at(i)
        if not found:
            return None
        atom, end = found
        ptc = self.power_then_call_at(end)
        if ptc:
            exponent, args, after = ptc
            letter = self.placeholder("function", atom.name)
            # braced: a group right after a symbol would otherwise read as a call
            out += ["{", "(", letter, "(", *self.rewrite(args), ")", ")", "}", "^", "{", *self.rewrite(exponent), "}"]
            return after
        call = self.call_args_at(end)
        if call:
            args, after = call
            # SymPy prints the gamma function `\\Gamma\\left(x\\right)`, released as
            # `\\Gamma(x)`; an undefined function named Gamma as `\\Gamma{(x)}`
            bare = end < len(tokens) and tokens[end] == "("
            name = "gamma" if atom.name == "\\Gamma" and bare else atom.name
            letter = self.placeholder("function", name)
            out += [letter, "(", *self.rewrite(args), ")"]
            return after
        if atom.name == "e":
            if self.result.euler is None:
                self.result.euler = self.placeholder("symbol", "\x00e")
            out.append(self.result.euler)
        else:
            out.append(self.placeholder("symbol", atom.name))
        return end

    def _bracketed_function_power(self, i: int, out: list[str]) -> int | None:
        """(\\tau^{\\prime})^{2}{(x)}: SymPy brackets a decorated function name before a power."""
        tokens = self.tokens
        if tokens[i] != "(":
            return None
        j = self.skip_ws(i + 1)
        found = self.atom_at(j) if j < len(tokens) else None
        if not (found and self.skip_ws(found[1]) < len(tokens) and tokens[self.skip_ws(found[1])] == ")"):
            return None
        ptc = self.power_then_call_at(self.skip_ws(found[1]) + 1)
        if not ptc:
            return None
        exponent, args, after = ptc
        letter = self.placeholder("function", found[0].name)
        out += ["{", "(", letter, "(", *self.rewrite(args), ")", ")", "}", "^", "{", *self.rewrite(exponent), "}"]
        return after

    def _product_group(self, i: int, out: list[str]) -> int | None:
        """`x (y + 1)` is a product, but the grammar reads `x (...)` as a call: brace the group."""
        tokens = self.tokens
        if not (tokens[i] == "(" and out and out[-1] in self.result.symbols):
            return None
        depth = 0
        for k in range(i, len(tokens)):
            depth += {"(": 1, ")": -1}.get(tokens[k], 0)
            if depth == 0:
                break
        else:
            raise NormalizeError("unbalanced parentheses: a '(' is never closed")
        out += ["{", "(", *self.rewrite(tokens[i + 1 : k]), ")", "}"]
        return k + 1

    def _other(self, i: int, out: list[str]) -> int:
        """Anything else passes as it is; a command nobody knows is refused."""
        tok = self.tokens[i]
        if tok in ("\\cdot", "\\times"):
            out.append("\\cdot")
        elif tok.startswith("\\") and tok not in ("\\pi", "\\infty") and tok[1:] not in KNOWN_COMMANDS:
            raise NormalizeError(f"unknown command {tok}")
        else:
            out.append(tok)
        return i + 1

    HANDLERS = (_spacing, _fraction, _integral_handler, _named_function, _identifier, _bracketed_function_power,
                _product_group, _other)

    def factor_end(self, j: int) -> int:
        """End of the single factor starting at token j (or j when there is none)."""
        tokens = self.tokens
        j = self.skip_ws(j)
        if j >= len(tokens):
            return j
        tok = tokens[j]
        if tok in ("\\frac", "\\dfrac", "\\tfrac"):
            _, after = self.group_inner(j + 1)
            _, end = self.group_inner(after)
            num = [t for t in tokens[self.skip_ws(j + 1) : after] if not t.isspace()]
            if len(num) > 1 and num[1] in ("d", "\\partial"):  # another derivative: it takes a factor too
                return self.factor_end(end)
            return self._power_end(end)
        if tok.startswith("\\") and tok[1:] in INTEGRALS:
            saved = getattr(self, "integral_end", None)
            self.integral(j)  # computes self.integral_end (placeholders it makes are reused later)
            end = self.integral_end
            if saved is not None:
                self.integral_end = saved
            self.tokens = tokens
            return self._power_end(end)
        if tok in ("(", "{"):
            close = {"(": ")", "{": "}"}[tok]
            depth = 0
            for k in range(j, len(tokens)):
                if tokens[k] == tok:
                    depth += 1
                elif tokens[k] == close:
                    depth -= 1
                    if depth == 0:
                        return self._power_end(k + 1)
            raise NormalizeError(f"unbalanced '{tok}'")
        if tok.startswith("\\") and tok[1:] in FUNCTIONS:
            k = self.skip_ws(j + 1)
            if k < len(tokens) and tokens[k] == "^":
                _, k = self.group_inner(k + 1)
            call = self.call_args_at(k)
            if call:
                return self._power_end(call[1])
            return self.group_end(k)
        if re.fullmatch(r"\d+(\.\d+)?", tok) or tok in ("\\pi", "\\infty"):
            return self._power_end(j + 1)
        found = self.atom_at(j)
        if found:
            end = found[1]
            ptc = self.power_then_call_at(end)
            if ptc:
                return ptc[2]
            call = self.call_args_at(end)
            if call:
                end = call[1]
            return self._power_end(end)
        return j

    def operand_end(self, j: int) -> int:
        """A run of factors, later derivative operators and integrals included. SymPy prints
        d/dx (f · d/dx g) and (d/dx f)(d/dx g) alike (`\\frac{d}{d x} f \\frac{d}{d x} g`); on the
        authors' corpus the derivative of the product is the common reading (differentiate
        acts on a whole side; a product of two derivatives needs a rarer substitution)."""
        end = self.factor_end(j)
        if self.products_of_derivatives:
            return end  # the other reading: the operator acts on the one factor after it
        while end > j:
            k = self.skip_ws(end)
            if k >= len(self.tokens) or self.tokens[k] in ("+", "-", "=", ",", ")", "}", "\\cdot", "\\times"):
                break
            nxt = self.factor_end(k)
            if nxt <= k:
                break
            end = nxt
        return end

    def _power_end(self, j: int) -> int:
        k = self.skip_ws(j)
        if k < len(self.tokens) and self.tokens[k] == "^":
            return self.group_end(k + 1)
        return j

    def _limits_at(self, body: list[str]) -> tuple[dict[str, list[str]], int]:
        """`_{a}^{b}` (either order, either alone) at the start of an integral's body."""
        saved, self.tokens = self.tokens, body
        try:
            found: dict[str, list[str]] = {}
            k = 0
            while True:
                while k < len(body) and (body[k].isspace() or body[k] == "\\limits"):
                    k += 1
                if k < len(body) and body[k] in ("_", "^") and body[k] not in found:
                    found[body[k]], k = self.group_inner(k + 1)
                    continue
                return found, k
        finally:
            self.tokens = saved

    def limits(self, body: list[str]) -> list[str]:
        """An integral's limits for the grammar, which wants both: SymPy's printer writes an
        integral with an upper limit only as `\\int\\limits^{b}` (Integral(f, (x, b))); a marker
        stands for the missing lower one and is taken out again in app.math.latex.rebuild."""
        found, _ = self._limits_at(body)
        if not found:
            return []
        saved = self.tokens
        lower = self.rewrite(found["_"]) if "_" in found else [self.placeholder("symbol", NO_LOWER_LIMIT)]
        upper = self.rewrite(found["^"]) if "^" in found else None
        self.tokens = saved
        if upper is None:
            raise NormalizeError("an integral with a lower limit but no upper one cannot be read")
        return ["_", "{", *lower, "}", "^", "{", *upper, "}"]

    def _after_limits(self, body: list[str]) -> list[str]:
        return body[self._limits_at(body)[1]:]

    def _differential_at(self, j: int) -> int | None:
        """End of `d x` (a differential) starting at token j, else None."""
        if self.tokens[j] != "d":
            return None
        k = self.skip_ws(j + 1)
        found = self.atom_at(k) if k < len(self.tokens) else None
        if not found:
            return None
        call = self.call_args_at(found[1])  # d L{(A_y)}: with respect to a function
        return call[1] if call else found[1]

    def integral(self, i: int) -> list[str]:
        """`\\int body dx` (or \\iint ... dx dy), braced: SymPy's grammar otherwise lets
        the first integral run on to the last differential of the line."""
        tokens = self.tokens
        needed = INTEGRALS[tokens[i][1:]]
        count = needed
        depth, j = 0, i + 1
        differentials: list[tuple[int, int]] = []  # this integral's, at its own depth
        while j < len(tokens) and needed > 0:
            t = tokens[j]
            if t in ("{", "("):
                depth += 1
            elif t in ("}", ")"):
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and t.startswith("\\") and t[1:] in INTEGRALS:
                needed += INTEGRALS[t[1:]]  # a nested integral takes its own differentials first
            elif depth == 0:
                end = self._differential_at(j)
                if end is not None:
                    needed -= 1
                    differentials.append((j, end))
                    j = end
                    continue
            j += 1
        if needed > 0:
            raise NormalizeError("an integral has no differential (dx)")
        own = differentials[-count:]
        body = tokens[i + 1 : own[0][0]]
        out = ["{", *(["\\int"] * count), *self.limits(body), *self.rewrite(self._after_limits(body))]
        self.tokens = tokens
        for start, end in own:
            atom, atom_end = self.atom_at(self.skip_ws(start + 1))
            call = self.call_args_at(atom_end)
            # `d L{(A_y)}`: with respect to a function (read as `dL` times `A_y` it would be
            # another equation)
            out += ["d", self.applied_placeholder(atom, call[0]) if call else self.placeholder("symbol", atom.name)]
        self.integral_end = own[-1][1]
        return out + ["}"]


def _balanced(tokens: list[str]) -> bool:
    depth = 0
    for t in tokens:
        depth += {"(": 1, ")": -1}.get(t, 0)
        if depth < 0:
            return False
    return depth == 0


def _lost_function_name(tokens: list[str]) -> str | None:
    """`{(u)}` where a function's name should stand: the printer writes `f{(u)}`, and a model
    that lost the name leaves a group SymPy would read as plain `u` (`{ (u) } = e^u`, another
    equation). A braced group after a command, a name, `^`, `_` or `}` is an argument, and
    one raised to a power is a base: both are fine."""
    sig = [t for t in tokens if not t.isspace()]
    for n, t in enumerate(sig):
        if t != "{" or n + 1 >= len(sig) or sig[n + 1] != "(":
            continue
        prev = sig[n - 1] if n else ""
        if prev.startswith("\\") or prev in ("^", "_", "}", "'") or prev.isalnum() \
                or (prev == "*" and n >= 2 and sig[n - 2] == "^"):  # g^*{(x)}: a name with a star
            continue
        depth, j = 0, n + 1
        while j < len(sig):
            depth += {"(": 1, ")": -1}.get(sig[j], 0)
            if depth == 0:
                break
            j += 1
        if j + 1 < len(sig) and sig[j + 1] == "}" and (j + 2 >= len(sig) or sig[j + 2] != "^"):
            return "".join(sig[n:j + 2])
    return None


_DANGLING = frozenset({"+", "-", "/", "^", "_", "\\cdot", "\\times", "\\div", "\\pm", "\\mp"})


def _truncated(tokens: list[str]) -> str | None:
    """Text cut short or garbled, which SymPy would read as another equation: an operator with
    nothing after it (`f{(x)} = x^{2} +` was read as `f(x) = x^2`), before `=`, or a `)` with
    no `(` (`= x + 1)` was read as `x + 1`). Sentence punctuation at the end is not math."""
    sig = [t for t in tokens if not t.isspace()]
    while sig and sig[-1] in (".", ",", ";"):
        sig.pop()
    for n, t in enumerate(sig):
        if t in _DANGLING and (n + 1 == len(sig) or sig[n + 1] == "="):
            return f"'{t}' has nothing after it"
    if not _balanced([t for t in sig if t in "()"]):
        return "its parentheses do not pair up"
    return None


# Commands a model may write without their backslash (T5's tokenizer loses them): as letters,
# SymPy reads `frac{1}{2}` as f·r·a·c·2 and `sin{(x)}` as i·s·n(x): another equation
_COMMAND_WORDS = frozenset({
    "frac", "dfrac", "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "log", "ln", "exp",
    "cdot", "times", "int", "iint", "partial", "infty", "alpha", "beta", "gamma", "delta", "epsilon", "theta",
    "lambda", "sigma", "omega", "phi", "psi", "mathbf", "operatorname", "left", "right", "limits", "sum", "prod"})
# a brace group after these is a name or a script, where letters are letters (`x_{max}`, `\mathrm{exp}`)
_NAMING = frozenset({"_", "^", "\\operatorname", "\\mathrm", "\\text", "\\mathbf", "\\mathit", "\\mathcal",
                     "\\boldsymbol", "\\textrm", "\\mathsf", "\\mathtt"})


def _lost_backslash(tokens: list[str]) -> str | None:
    """A command word written without its backslash, outside a name (`frac{1}{2}`, `cdot`)."""
    groups: list[bool] = []  # per open brace: inside a name or a script
    run: list[str] = []
    previous = ""
    for t in [*tokens, " "]:
        if len(t) == 1 and t.isalpha():
            run.append(t)
            continue
        word, run = "".join(run), []
        if word in _COMMAND_WORDS and not any(groups) and previous != "\\":
            return word
        if t == "{":
            groups.append(previous in _NAMING)
        elif t == "}" and groups:
            groups.pop()
        if not t.isspace():
            previous = t
    return None


# SymPy 1.5's printer turns a name's `\\prime` superscript into `{\\}'` (its "prime" modifier
# applied to the backslash): `x^\\prime` comes out `\\operatorname{x^{{\\}'}}`, braces unbalanced.
# Nothing else writes this sequence, so it is read back as the `\\prime` it was.
_PRINTER_PRIME = "{\\}'"


def rewrite(latex: str, variables: frozenset[str] = frozenset()) -> Rewritten:
    """Model LaTeX -> placeholder LaTeX that parse_latex reads, plus the name maps back.
    `variables`: names the problem uses as variables though they are constants elsewhere (\\pi)."""
    tokens = tokenize(undo_t5_spacing(latex).replace(_PRINTER_PRIME, "\\prime"))
    lost = _lost_function_name(tokens)
    if lost:
        raise NormalizeError(f"a function's name is missing before {lost} (garbled text: not read as another equation)")
    bare = _lost_backslash(tokens)
    if bare:
        raise NormalizeError(f"'{bare}' has lost its backslash (\\{bare}): garbled text, not read as letters")
    cut = _truncated(tokens)
    if cut:
        raise NormalizeError(f"{cut} (cut short or garbled: not read as another equation)")
    return _Rewriter(tokens, variables).run()
