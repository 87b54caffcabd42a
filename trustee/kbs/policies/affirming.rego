# Allow only when there is at least one appraisal and every appraisal is affirming.
package policy

import rego.v1

default allow := false

allow if {
	count(input.submods) > 0
	every _, submod in input.submods {
		submod["ear.status"] == "affirming"
	}
}
