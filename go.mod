module riskmap

go 1.26.8

require github.com/paulmach/orb v0.14.0

require github.com/uber/h3-go/v4 v4.1.0 // indirect
