package face

import "github.com/edgeid/edgeid/daemon/match"

// Compare is the decision distance between two templates, smaller is more alike.
func (e *Engine) Compare(a, b match.Template) (float64, error) { return match.Distance(a, b) }
