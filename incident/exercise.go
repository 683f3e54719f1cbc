package incident

import "strings"

// ExerciseMark begins everything an exercise (a game day) sends, so nobody
// who reads a page, a channel or a card takes it for a real incident.
const ExerciseMark = "[EXERCISE]"

// MaxParticipants bounds who an exercise pages: the list is kept in the
// incident's state and each participant is a page per escalation round.
const MaxParticipants = 20

// ExerciseText marks text as an exercise's when on is set, once.
func ExerciseText(on bool, text string) string {
	if !on || strings.HasPrefix(text, ExerciseMark) {
		return text
	}
	return ExerciseMark + " " + text
}
