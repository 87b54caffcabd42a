# Default appraisal policy for NVSwitch evidence (CoCo Deno).
package policy

import rego.v1

default executables := 33

default hardware := 97

default configuration := 36

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
}

hardware := 2 if {
	input.nvidia
	input.nvidia.secboot == true
	input.nvidia.dbgstat == "disabled"
}

executables := 3 if {
	input.nvidia
	input.nvidia.measres == "success"
	input.nvidia["x-nvidia-switch-bios-version"] in query_reference_value("allowed_switch_bios_versions")
}

configuration := 2 if {
	input.nvidia
	input.nvidia.dbgstat == "disabled"
}
