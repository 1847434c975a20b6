# Reference numbers from metafor for the nmda-review engine (helpers.stats.pooling, effects, subgroups, bias, sensitivity).
#
# Usage (from the project root):   Rscript tests/reference/metafor_reference.R [out.json]
# Default output: tests/reference/metafor_reference.json (next to this script).
#
# Every entry records the exact metafor call that produced it (the call string is what is evaluated), the dataset
# name, and the numbers. Input data are written into the JSON too, so the Python tests need no R to read them.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script) == 1L) dirname(normalizePath(script)) else "tests/reference"
trailing <- commandArgs(trailingOnly = TRUE)
out <- if (length(trailing) >= 1L) trailing[1] else file.path(here, "metafor_reference.json")

num <- function(x) unname(as.numeric(x))

# metafor's defaults stop REML when tau2 changes by < 1e-5 and solve PM and the Q-profile CI with uniroot to
# tol = .Machine$double.eps^0.25 (~1.2e-4 absolute), which moves small tau2 values in the 2nd-3rd digit. The
# reference is computed to convergence instead, so the engine can be held to tight tolerances. confint's search
# is also widened (tau2.max = 1e8; metafor's default 10 * tau2 capped normand1999 MD at "> 2054").
CTRL <- "control = list(threshold = 1e-12, tol = 1e-12, maxiter = 1000)"

# ---------------------------------------------------------------------------------------------------------------
# Datasets. Dichotomous ones as arm columns (events_e, n_e, events_c, n_c); continuous ones as
# (mean_e, sd_e, n_e, mean_c, sd_c, n_c); generic ones as (yi, vi). Labels in `study`.
# ---------------------------------------------------------------------------------------------------------------
bcg <- with(dat.bcg, data.frame(study = paste(author, year), events_e = tpos, n_e = tpos + tneg,
                                events_c = cpos, n_c = cpos + cneg, subgroup = alloc))
hine <- with(dat.hine1989, data.frame(study = source, events_e = ai, n_e = n1i, events_c = ci, n_c = n2i))
normand <- with(dat.normand1999, data.frame(study = source, mean_e = m1i, sd_e = sd1i, n_e = n1i,
                                            mean_c = m2i, sd_c = sd2i, n_c = n2i))
hackshaw <- with(dat.hackshaw1998, data.frame(study = paste(author, year), yi = yi, vi = vi, subgroup = design))
two <- data.frame(study = c("A", "B"), events_e = c(12, 20), n_e = c(50, 80), events_c = c(20, 25), n_c = c(50, 78))
zero_arm <- data.frame(study = c("A", "B", "C", "D"), events_e = c(0, 5, 9, 3), n_e = c(30, 40, 60, 25),
                       events_c = c(4, 11, 15, 6), n_c = c(31, 42, 58, 24))
double_zero <- data.frame(study = c("A", "B", "C", "D", "E"), events_e = c(0, 5, 9, 3, 2), n_e = c(30, 40, 60, 25, 20),
                          events_c = c(0, 11, 15, 6, 5), n_c = c(31, 42, 58, 24, 22))
identical <- data.frame(study = paste("S", 1:5), yi = rep(0.4, 5), vi = c(0.01, 0.04, 0.09, 0.02, 0.2))
extreme <- data.frame(study = paste("S", 1:6), yi = c(0.12, 0.30, -0.25, 1.10, 0.05, 2.5),
                      vi = c(1e-6, 4e-6, 0.5, 2.0, 1e-4, 1e3))

tied <- data.frame(study = paste("S", 1:8), yi = c(0.8, 0.1, 0.5, 0.3, 0.9, -0.2, 0.6, 0.35),
                   vi = c(0.20, 0.05, 0.10, 0.05, 0.20, 0.02, 0.10, 0.08))

datasets <- list(
  bcg = list(type = "dichotomous", source = "metadat::dat.bcg", table = bcg),
  hine1989 = list(type = "dichotomous", source = "metadat::dat.hine1989", table = hine),
  normand1999 = list(type = "continuous", source = "metadat::dat.normand1999", table = normand),
  hackshaw1998 = list(type = "generic", source = "metadat::dat.hackshaw1998 (yi = log OR, vi)", table = hackshaw),
  two_studies = list(type = "dichotomous", source = "made up: k = 2", table = two),
  zero_arm = list(type = "dichotomous", source = "made up: one study with zero events in one arm", table = zero_arm),
  double_zero = list(type = "dichotomous", source = "made up: one study with zero events in both arms", table = double_zero),
  identical = list(type = "generic", source = "made up: identical effects, tau2 must be 0", table = identical),
  extreme = list(type = "generic", source = "made up: variances from 1e-6 to 1e3", table = extreme),
  tied = list(type = "generic", source = "made up: tied variances (rank test uses the normal approximation)",
              table = tied)
)

entries <- list()
add <- function(id, dataset, call, result) {
  entries[[length(entries) + 1L]] <<- list(id = id, dataset = dataset, call = call, result = result)
}

# Evaluate `call` (a string) with `d` = the dataset table and `es` = its escalc frame (when given).
run <- function(call, d, es = NULL) {
  env <- new.env(parent = globalenv())
  env$d <- d
  env$es <- es
  eval(parse(text = call), envir = env)
}

pool_fields <- function(fit) {
  r <- list(estimate = num(fit$beta), se = num(fit$se), ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub),
            z = num(fit$zval), p = num(fit$pval), tau2 = num(fit$tau2), q = num(fit$QE), df = fit$k - fit$p,
            q_p = num(fit$QEp), i2 = num(fit$I2), h2 = num(fit$H2), k = fit$k)
  if (!is.null(fit$k.yi)) r$df <- fit$k.yi - 1L  # rma.mh/rma.peto: Q over the studies with a finite yi
  if (!is.null(fit$se.tau2) && !is.na(fit$se.tau2)) r$tau2_se <- num(fit$se.tau2)
  r
}

escalc_call <- function(name, measure) {
  if (datasets[[name]]$type == "continuous") {
    sprintf('escalc(measure = "%s", m1i = mean_e, sd1i = sd_e, n1i = n_e, m2i = mean_c, sd2i = sd_c, n2i = n_c, data = d)', measure)
  } else {
    sprintf('escalc(measure = "%s", ai = events_e, n1i = n_e, ci = events_c, n2i = n_c, data = d)', measure)
  }
}

# ---------------------------------------------------------------------------------------------------------------
# escalc, rma (FE/DL/REML/PM, z and knha), confint, predict
# ---------------------------------------------------------------------------------------------------------------
analysis_sets <- list()  # name -> list(measure, es) used by rma-based entries
for (name in names(datasets)) {
  ds <- datasets[[name]]
  d <- ds$table
  measures <- switch(ds$type, dichotomous = c("RR", "OR", "RD"), continuous = c("MD", "SMD"), generic = "GEN")
  for (m in measures) {
    if (m == "GEN") {
      es <- d
    } else {
      call <- escalc_call(name, m)
      es <- run(call, d)
      add(sprintf("escalc/%s/%s", name, m), name, call,
          list(measure = m, yi = num(es$yi), vi = num(es$vi)))
    }
    analysis_sets[[length(analysis_sets) + 1L]] <- list(name = name, measure = m, es = es)
  }
}

for (a in analysis_sets) {
  key <- sprintf("%s/%s", a$name, a$measure)
  for (method in c("FE", "DL", "REML", "PM")) {
    for (test in c("z", "knha")) {
      if (method == "FE" && test == "knha") next
      call <- sprintf('rma(yi, vi, data = es, method = "%s", test = "%s", %s)', method, test, CTRL)
      fit <- run(call, NULL, a$es)
      r <- pool_fields(fit)
      r$method <- method
      r$test <- test
      if (test == "knha") r$t_df <- fit$ddf
      if (method != "FE" && fit$k >= 2) {
        ci <- tryCatch(suppressWarnings(confint(fit, type = "QP", control = list(tol = 1e-12, tau2.max = 1e8))),
                       error = function(e) NULL)
        if (!is.null(ci)) {
          r$tau2_ci_low <- num(ci$random["tau^2", "ci.lb"])
          r$tau2_ci_high <- num(ci$random["tau^2", "ci.ub"])
          r$tau2_ci_call <- 'confint(fit, type = "QP", control = list(tol = 1e-12, tau2.max = 1e8))'
        }
        pr <- predict(fit)
        r$pi_low <- num(pr$pi.lb)
        r$pi_high <- num(pr$pi.ub)
        r$pi_call <- "predict(fit)"
        if (fit$k >= 3) {
          # the Handbook's prediction interval (Higgins, Thompson & Spiegelhalter 2009), whatever the test:
          # mu +- t(k - 2) sqrt(tau2 + SE^2) with the Wald SE of the mean (the test = "z" fit's)
          if (test == "z") wald <- fit  # the knha iteration follows the z one of the same method
          half <- qt(0.975, fit$k - 2) * sqrt(fit$tau2 + wald$se^2)
          r$pi_t_low <- num(coef(fit) - half)
          r$pi_t_high <- num(coef(fit) + half)
          r$pi_t_call <- paste('coef(fit) +- qt(0.975, fit$k - 2) * sqrt(fit$tau2 + wald$se^2),',
                               'wald = the same rma call with test = "z"')
        }
      }
      r$weights <- I(num(weights(fit)))
      add(sprintf("rma/%s/%s/%s", key, method, test), a$name, call, r)
    }
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Mantel-Haenszel and Peto (dichotomous datasets)
# ---------------------------------------------------------------------------------------------------------------
for (name in names(datasets)) {
  if (datasets[[name]]$type != "dichotomous") next
  d <- datasets[[name]]$table
  for (m in c("RR", "OR", "RD")) {
    call <- sprintf('rma.mh(ai = events_e, n1i = n_e, ci = events_c, n2i = n_c, data = d, measure = "%s")', m)
    fit <- run(call, d)
    r <- pool_fields(fit)
    r$measure <- m
    r$weights <- I(num(weights(fit)))
    add(sprintf("rma.mh/%s/%s", name, m), name, call, r)
  }
  call <- "rma.peto(ai = events_e, n1i = n_e, ci = events_c, n2i = n_c, data = d)"
  fit <- run(call, d)
  r <- pool_fields(fit)
  r$weights <- I(num(weights(fit)))
  add(sprintf("rma.peto/%s", name), name, call, r)
}

# ---------------------------------------------------------------------------------------------------------------
# Small-study effects, trim and fill, leave-one-out, cumulative (k >= 3 sets)
# ---------------------------------------------------------------------------------------------------------------
bias_sets <- list(list(name = "bcg", measure = "RR"), list(name = "bcg", measure = "OR"),
                  list(name = "normand1999", measure = "SMD"), list(name = "hackshaw1998", measure = "GEN"),
                  list(name = "hine1989", measure = "RD"), list(name = "extreme", measure = "GEN"),
                  list(name = "tied", measure = "GEN"))
find_es <- function(name, measure) {
  for (a in analysis_sets) if (a$name == name && a$measure == measure) return(a$es)
  stop("no analysis set ", name, "/", measure)
}
for (b in bias_sets) {
  es <- find_es(b$name, b$measure)
  key <- sprintf("%s/%s", b$name, b$measure)
  fe_call <- 'rma(yi, vi, data = es, method = "FE")'
  call <- sprintf('regtest(%s, model = "lm")', fe_call)
  rt <- run(call, NULL, es)
  cf <- coef(summary(rt$fit))
  add(sprintf("regtest/%s", key), b$name, call,
      list(t = num(rt$zval), df = num(rt$dfs), p = num(rt$pval), bias = num(cf[2, 1]), bias_se = num(cf[2, 2]),
           limit_estimate = num(rt$est), limit_se = num(cf[1, 2]), limit_ci_low = num(rt$ci.lb),
           limit_ci_high = num(rt$ci.ub)))
  call <- sprintf("ranktest(%s)", fe_call)
  rk <- run(call, NULL, es)
  add(sprintf("ranktest/%s", key), b$name, call, list(tau = num(rk$tau), p = num(rk$pval)))
  for (method in c("FE", "REML", "DL")) {
    for (estimator in c("L0", "R0")) {
      call <- sprintf('trimfill(rma(yi, vi, data = es, method = "%s", %s), estimator = "%s", %s)', method, CTRL,
                      estimator, CTRL)
      tf <- run(call, NULL, es)
      filled <- tf$fill
      add(sprintf("trimfill/%s/%s/%s", key, method, estimator), b$name, call,
          c(pool_fields(tf), list(method = method, estimator = estimator, k0 = tf$k0, se_k0 = num(tf$se.k0),
                                  side = tf$side, filled_yi = I(num(tf$yi[filled])),
                                  filled_vi = I(num(tf$vi[filled])))))
    }
  }
  for (method in c("FE", "DL", "REML")) {
    call <- sprintf('leave1out(rma(yi, vi, data = es, method = "%s", %s))', method, CTRL)
    lo <- run(call, NULL, es)
    add(sprintf("leave1out/%s/%s", key, method), b$name, call,
        list(method = method, estimate = num(lo$estimate), se = num(lo$se), z = num(lo$zval), p = num(lo$pval),
             ci_low = num(lo$ci.lb), ci_high = num(lo$ci.ub), q = num(lo$Q), q_p = num(lo$Qp), tau2 = num(lo$tau2),
             i2 = num(lo$I2), h2 = num(lo$H2)))
    call <- sprintf('cumul(rma(yi, vi, data = es, method = "%s", %s), order = rev(seq_len(nrow(es))))', method,
                    CTRL)
    cu <- run(call, NULL, es)
    add(sprintf("cumul/%s/%s", key, method), b$name, call,
        list(method = method, order = rev(seq_len(nrow(es))), estimate = num(cu$estimate), se = num(cu$se),
             z = num(cu$zval), p = num(cu$pval), ci_low = num(cu$ci.lb), ci_high = num(cu$ci.ub), q = num(cu$Q),
             q_p = num(cu$Qp), tau2 = num(cu$tau2), i2 = num(cu$I2), h2 = num(cu$H2)))
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Subgroup differences. RevMan's test: separate fits per subgroup, then Cochran's Q of the subgroup estimates
# around their inverse-variance mean (= rma(method = "FE") on the subgroup estimates). For fixed effect this
# equals the moderator test QM of rma(mods = ~ factor(subgroup), method = "FE"), recorded as a cross-check.
# ---------------------------------------------------------------------------------------------------------------
for (s in list(list(name = "bcg", measure = "RR"), list(name = "hackshaw1998", measure = "GEN"))) {
  es <- find_es(s$name, s$measure)
  key <- sprintf("%s/%s", s$name, s$measure)
  groups <- unique(as.character(es$subgroup))
  for (method in c("FE", "DL", "REML")) {
    fits <- lapply(groups, function(g) rma(yi, vi, data = es, subset = subgroup == g, method = method,
                                           control = list(threshold = 1e-12, tol = 1e-12, maxiter = 1000)))
    est <- sapply(fits, function(f) num(f$beta))
    se <- sapply(fits, function(f) num(f$se))
    call <- sprintf(paste0('for g in unique(subgroup): rma(yi, vi, data = es, subset = subgroup == g, method = "%s", %s); ',
                           'then rma(est, sei = se, method = "FE")'), method, CTRL)
    between <- rma(est, sei = se, method = "FE")
    r <- list(method = method, groups = groups, group_estimate = est, group_se = se,
              group_tau2 = sapply(fits, function(f) num(f$tau2)), group_k = sapply(fits, function(f) f$k),
              q = num(between$QE), df = between$k - 1, q_p = num(between$QEp), i2 = num(between$I2))
    if (method == "FE") {
      mcall <- 'rma(yi, vi, mods = ~ factor(subgroup), data = es, method = "FE")'
      mod <- run(mcall, NULL, es)
      r$qm <- num(mod$QM)
      r$qm_df <- mod$QMdf[1]
      r$qm_p <- num(mod$QMp)
      r$qm_call <- mcall
    }
    add(sprintf("subgroups/%s/%s", key, method), s$name, call, r)
  }
}

doc <- list(
  source = list(tool = "metafor", metafor_version = as.character(packageVersion("metafor")),
                metadat_version = as.character(packageVersion("metadat")),
                r_version = R.version.string, script = "tests/reference/metafor_reference.R",
                conventions = paste("escalc defaults (add = 1/2, to = 'only0', drop00 = FALSE);",
                                    "rma.mh/rma.peto defaults; level = 95")),
  datasets = lapply(datasets, function(ds) list(type = ds$type, source = ds$source, table = ds$table)),
  entries = entries
)
writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE, dataframe = "columns"), out)
cat("wrote", length(entries), "entries to", out, "\n")
