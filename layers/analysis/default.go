package analysis

// Default returns the analyses a deployment runs, in display order. The
// engine refreshes and updates them in this order too, which matters: the
// risk index comes last because it reads the derived layers of the others
// (water_gaps, pipeline_occupations, distance_violations).
func Default() []Analysis {
	return []Analysis{
		NewWater(),
		NewPipeline(),
		NewLanes(),
		NewStationReach(),
		NewFlood(),
		NewDistance(),
		NewRiskIndex(),
	}
}
