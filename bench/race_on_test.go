//go:build race

package bench

func raceState() string { return "on" }
