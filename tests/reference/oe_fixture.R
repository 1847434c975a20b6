# Per-study and pooled values for the "O-E and variance" fixture in tests/fixtures/packages/build.py (OE_*).
#
# Usage: Rscript tests/reference/oe_fixture.R     (prints the CSV lines pasted into build.py)
#
# Input: metadat::dat.hine1989 (lidocaine and mortality), first three trials. O-E and V are Peto's
# (Yusuf et al. 1985): O-E = a - n1 (a + c)/N, V = n1 n2 (a + c)(b + d)/(N² (N - 1)), written as RevMan writes
# numbers (six decimals, trailing zeros dropped). The per-study Peto OR, 95% CI and weight and the pooled
# values are metafor's (escalc(measure = "PETO"), rma.peto), on those same rounded O-E and V:
# yi = (O-E)/V, vi = 1/V, pooled ln OR = sum(O-E)/sum V; rma.peto on the counts gives the same to ~1e-7.
suppressPackageStartupMessages(library(metafor))
r6 <- function(x) sub("\\.$", "", sub("0+$", "", sprintf("%.6f", x)))
d <- dat.hine1989[1:3, ]
n <- d$n1i + d$n2i; m <- d$ai + d$ci
oe <- round(d$ai - d$n1i * m / n, 6)
v <- round(d$n1i * d$n2i * m * (n - m) / (n^2 * (n - 1)), 6)
fit <- rma(yi = oe / v, vi = 1 / v, method = "FE")
peto <- rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
stopifnot(abs(coef(fit) - coef(peto)) < 1e-6)
s <- summary(escalc(yi = oe / v, vi = 1 / v))
w <- weights(fit)
for (i in 1:3) cat(sprintf("study %s: O-E %s V %s weight %s OR %s [%s, %s]\n", d$source[i], r6(oe[i]), r6(v[i]),
                           r6(w[i]), r6(exp(s$yi[i])), r6(exp(s$ci.lb[i])), r6(exp(s$ci.ub[i]))))
cat(sprintf("overall: OR %s [%s, %s] Q %s df %d P %s I2 %s Z %s P %s\n", r6(exp(coef(fit))), r6(exp(fit$ci.lb)),
            r6(exp(fit$ci.ub)), r6(fit$QE), fit$k - 1, r6(fit$QEp), r6(max(0, 100 * (fit$QE - (fit$k - 1)) / fit$QE)),
            r6(abs(fit$zval)), r6(fit$pval)))
