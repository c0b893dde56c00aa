// Package analysis computes where protection is missing — fire-water
// coverage, pipeline occupation, life-lane issues, fire-station reach,
// flood exposure, distance rules and the regional risk index — as derived
// layers: each result is a feature that names the rule (value, standard,
// clause) and the evidence (distances, ids) behind it.
package analysis
