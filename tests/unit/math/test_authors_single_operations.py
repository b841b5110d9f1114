"""Steps the authors' engine made with one operation that the checker called "skipped":
the classes left on the whole corpus after the last round (each fails on the checker before
this change). The LaTeX is the corpus's, as their printer wrote it (record and step named)."""

import pytest

from app.math import authors
from app.math.checker import check_derivation


def last_step(steps, premises=None):
    result = check_derivation(premises or [steps[0]], None, steps)
    return result.steps[-1]


CASES = {
    # evaluate_integrals on one side only: the left side's integral kept as written
    "1001-0483 step 6, one side evaluated, the other kept": [
        r"\mathbf{p}{(t_{1},\mathbf{J}_M)} = \mathbf{J}_M t_{1}",
        r"t_{1} = \frac{\partial}{\partial \mathbf{J}_M} \mathbf{J}_M t_{1}",
        r"\int t_{1}\, d\mathbf{J}_M = \int \frac{\partial}{\partial \mathbf{J}_M} \mathbf{J}_M t_{1}\, d\mathbf{J}_M",
        r"\int t_{1}\, d\mathbf{J}_M = \mathbf{J}_M t_{1} + f_{E}",
    ],
    # ... and the other way round: ∫ v' dF = v + F_N, the right side's integral kept
    "1001-0337 step 5, the integral of a derivative evaluated, the other side kept": [
        r"v{(F_{H},\mathbf{J})} = \cos{(F_{H} + \mathbf{J})}",
        r"\frac{\partial}{\partial F_{H}} v{(F_{H},\mathbf{J})} = - \sin{(F_{H} + \mathbf{J})}",
        r"\int \frac{\partial}{\partial F_{H}} v{(F_{H},\mathbf{J})}\, dF_{H} = \int - \sin{(F_{H} + \mathbf{J})}\, dF_{H}",
        r"F_{N} + v{(F_{H},\mathbf{J})} = \int - \sin{(F_{H} + \mathbf{J})}\, dF_{H}",
    ],
    # the derivative inside the integrand is 0: the integral is the constant alone, inside cos
    "1001-0713 step 8, an integrand that is 0 once differentiated": [
        r"\mathbf{E}{(P_{e},\mathbf{J}_P)} = P_{e} \mathbf{J}_P",
        r"\cos{(\int \frac{\partial^{2}}{\partial \mathbf{J}_P^{2}} (- \mathbf{J}_P + \mathbf{E}{(P_{e},\mathbf{J}_P)})\, dP_{e})} - 1 = \cos{(\int \frac{\partial^{2}}{\partial \mathbf{J}_P^{2}} (P_{e} \mathbf{J}_P - \mathbf{J}_P)\, dP_{e})} - 1",
        r"\cos{(\int \frac{\partial^{2}}{\partial \mathbf{J}_P^{2}} (- \mathbf{J}_P + \mathbf{E}{(P_{e},\mathbf{J}_P)})\, dP_{e})} - 1 = \cos{(\hat{H})} - 1",
    ],
    # derivatives first on the right side only (the left holds an undefined function)
    "1001-0603 step 5, derivatives first on one side": [
        r"\theta_{2}{(E_{n},\phi_1)} = - E_{n} + \phi_1",
        r"\int \frac{\partial}{\partial E_{n}} \int \theta_{2}{(E_{n},\phi_1)}\, dE_{n}\, d\phi_1 = \int \frac{\partial}{\partial E_{n}} \int (- E_{n} + \phi_1)\, dE_{n}\, d\phi_1",
        r"\int \frac{\partial}{\partial E_{n}} \int \theta_{2}{(E_{n},\phi_1)}\, dE_{n}\, d\phi_1 = - E_{n} \phi_1 + F_{c} + \frac{\phi_1^{2}}{2}",
    ],
    # SymPy 1.5's doit differentiates an integral: ∂/∂J ∬ V dJ dM = ∫ V dM
    "1001-0163 step 5, a derivative of an integral evaluated": [
        r"\operatorname{V_{\mathbf{E}}}{(J_{\varepsilon},M)} = J_{\varepsilon} M",
        r"\frac{\partial}{\partial J_{\varepsilon}} \iint \operatorname{V_{\mathbf{E}}}{(J_{\varepsilon},M)}\, dJ_{\varepsilon}\, dM = \frac{\partial}{\partial J_{\varepsilon}} \iint J_{\varepsilon} M\, dJ_{\varepsilon}\, dM",
        r"\int \operatorname{V_{\mathbf{E}}}{(J_{\varepsilon},M)}\, dM = \frac{J_{\varepsilon} M^{2}}{2}",
    ],
    # SymPy 1.5 integrated log(F - r) with log(-F + r): another branch, a constant apart
    "1001-0387 step 4, a logarithm's other branch": [
        r"\hat{H}_{\lambda}{(\hat{\mathbf{r}},F_{g})} = \log{(F_{g} - \hat{\mathbf{r}})}",
        r"\int (- F_{g} + \hat{H}_{\lambda}{(\hat{\mathbf{r}},F_{g})})\, d\hat{\mathbf{r}} = \int (- F_{g} + \log{(F_{g} - \hat{\mathbf{r}})})\, d\hat{\mathbf{r}}",
        r"\int (- F_{g} + \hat{H}_{\lambda}{(\hat{\mathbf{r}},F_{g})})\, d\hat{\mathbf{r}} = - F_{g} \log{(- F_{g} + \hat{\mathbf{r}})} + S + \hat{\mathbf{r}} (- F_{g} - 1) + \hat{\mathbf{r}} \log{(F_{g} - \hat{\mathbf{r}})}",
    ],
    # an undefined function that does not depend on the variable integrates as a factor
    "1001-0497 step 7, an undefined function constant in the variable": [
        r"H{(\theta_1)} = \sin{(\theta_1)}",
        r"\int (- f_{\mathbf{v}} + H^{\theta_1}{(\theta_1)})\, df_{\mathbf{v}} = \int (- f_{\mathbf{v}} + \sin^{\theta_1}{(\theta_1)})\, df_{\mathbf{v}}",
        r"\eta - \frac{f_{\mathbf{v}}^{2}}{2} + f_{\mathbf{v}} H^{\theta_1}{(\theta_1)} = \psi^* - \frac{f_{\mathbf{v}}^{2}}{2} + f_{\mathbf{v}} \sin^{\theta_1}{(\theta_1)}",
    ],
    # power -2: the exponent is the one the step shows
    "1001-0567 step 8, a negative power": [
        r"\operatorname{v_{x}}{(\hbar,A_{1})} = \frac{\hbar}{A_{1}}",
        r"\frac{\partial^{2}}{\partial \hbar\partial A_{1}} \frac{\hbar}{A_{1}} = - \frac{1}{A_{1}^{2}}",
        r"\frac{1}{(\frac{\partial^{2}}{\partial \hbar\partial A_{1}} \frac{\hbar}{A_{1}})^{2}} = A_{1}^{4}",
    ],
    # divided by 0, printed as complex infinity times each side
    "1001-0607 step 5, divided by zero": [
        r"\operatorname{E_{\lambda}}{(s)} = e^{s}",
        r"- e^{s} + \int \operatorname{E_{\lambda}}{(s)}\, ds = - e^{s} + \int e^{s}\, ds",
        r"\tilde{\infty} (- e^{s} + \int \operatorname{E_{\lambda}}{(s)}\, ds) = \tilde{\infty} (- e^{s} + \int e^{s}\, ds)",
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_operation_of_the_authors_engine_is_not_skipped(name):
    last = last_step(CASES[name])
    assert last.verdicts["skipped"].value == "no", (last.verdicts["skipped"].reason, last.operation)
    assert last.verdicts["incorrect"].value != "yes"


def test_a_step_one_operation_in_the_other_reading_of_an_operator_product_is_not_called_skipped():
    # 1001-0113 step 8: `\frac{d}{d t} C_1 \int …` is (d/dt C_1)·∫… as made (C_1 replaced by
    # its derivative), d/dt (C_1 ∫…) as the derivative-takes-the-product reading has it
    steps = [r"\operatorname{C_{1}}{(t)} = e^{t}",
             r"\operatorname{C_{1}}{(t)} \int \operatorname{C_{1}}{(t)}\, dt = \operatorname{C_{1}}{(t)} \int e^{t}\, dt",
             r"\frac{d}{d t} \operatorname{C_{1}}{(t)} = \operatorname{C_{1}}{(t)}",
             r"\frac{d}{d t} \operatorname{C_{1}}{(t)} \int \frac{d}{d t} \operatorname{C_{1}}{(t)}\, dt = \frac{d}{d t} \operatorname{C_{1}}{(t)} \int e^{t}\, dt"]
    skipped = last_step(steps).verdicts["skipped"]
    assert skipped.value == "unknown" and "reads two ways" in skipped.reason


def test_a_real_skip_is_still_called_skipped():
    # two operations at once (differentiate, then evaluate): the guard that the rules above
    # did not make every step "one operation"
    steps = [r"f{(x)} = x^{3}", r"\frac{d}{d x} f{(x)} = 3 x^{2}"]
    assert last_step(steps).verdicts["skipped"].value == "yes"


@pytest.mark.skipif(not authors.default_path().exists(), reason="the authors' corpus is not beside the project")
def test_renaming_keeps_an_integral_with_respect_to_a_function_a_function():
    # 1001-0735: `d L{(A_y)}` was renamed to `d\breve{b}`, a symbol, which cut the premise
    # `L{(A_y)} = A_y` off from the step that substitutes it
    ref = next(r for r in authors.load() if r.id == "1001-0735")
    renamed = authors.renamed(ref)
    premise_function = renamed[1].split("{(")[0]
    assert f"d{premise_function}{{(" in renamed[5]
