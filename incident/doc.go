// Package incident holds the vocabulary and request types that the
// workflows and the activities both speak: what an activity is asked to do,
// what it answers, and the bounds every input is held to. It does no I/O
// and imports neither side, so workflows can call activities by method
// reference without an import cycle.
package incident
