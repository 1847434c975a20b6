# Pooled values for the "settings" fixture in tests/fixtures/packages/build.py (SETTINGS_*): one continuous
# analysis (MD, inverse variance, random effects) whose package asks for the REML heterogeneity estimator, the
# Hartung-Knapp-Sidik-Jonkman CI and a 90% level; and one dichotomous analysis (RR, IV, fixed) with "Swap event
# and non-event" set, whose study values are those of the swapped counts (non-events).
#
# Usage: Rscript tests/reference/settings_fixture.R    (prints the numbers pasted into build.py)
# metafor: rma(method = "REML", test = "knha", level = 90) with tight convergence; I² from Q as RevMan prints
# it ((Q - df)/Q); |t| in place of Z. Six decimals as RevMan writes them.
suppressPackageStartupMessages(library(metafor))
r6 <- function(x) sub("\\.$", "", sub("0+$", "", sprintf("%.6f", x)))
d <- data.frame(m1 = c(40, 35.5, 52, 44), sd1 = c(12, 10.5, 14, 9), n1 = c(20, 30, 25, 18),
                m2 = c(48, 41, 50, 55), sd2 = c(11, 9.5, 13, 10), n2 = c(20, 31, 24, 18))
es <- escalc("MD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2, data = d)
fit <- rma(yi, vi, data = es, method = "REML", test = "knha", level = 90,
           control = list(threshold = 1e-12, tol = 1e-12, maxiter = 1000))
i2q <- max(0, 100 * (fit$QE - (fit$k - 1)) / fit$QE)
cat(sprintf("MD REML knha 90%%: %s [%s, %s] tau2 %s Q %s df %d P %s I2 %s t %s P %s\n", r6(coef(fit)),
            r6(fit$ci.lb), r6(fit$ci.ub), r6(fit$tau2), r6(fit$QE), fit$k - 1, r6(fit$QEp), r6(i2q),
            r6(abs(fit$zval)), r6(fit$pval)))
s <- data.frame(a = c(5, 8, 3), n1 = c(20, 30, 15), c = c(2, 4, 1), n2 = c(20, 31, 15))
sw <- escalc("RR", ai = n1 - a, n1i = n1, ci = n2 - c, n2i = n2, data = s)
ss <- summary(sw)
fs <- rma(yi, vi, data = sw, method = "FE")
for (i in 1:3) cat(sprintf("swapped RR study %d: %s [%s, %s] weight %s\n", i, r6(exp(ss$yi[i])),
                           r6(exp(ss$ci.lb[i])), r6(exp(ss$ci.ub[i])), r6(weights(fs)[i])))
cat(sprintf("swapped RR overall: %s [%s, %s] Q %s P %s Z %s P %s\n", r6(exp(coef(fs))), r6(exp(fs$ci.lb)),
            r6(exp(fs$ci.ub)), r6(fs$QE), r6(fs$QEp), r6(abs(fs$zval)), r6(fs$pval)))
