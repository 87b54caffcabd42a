# Default appraisal policy for GPU-class evidence (CoCo Deno).
# Sample devices are checked against the `device_svn` reference value; NVIDIA evidence against
# the local/NRAS claims and allowed VBIOS and driver versions.
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
	input.sampledevice
	input.sampledevice.svn in query_reference_value("device_svn")
}

executables := 3 if input.sampledevice

configuration := 2 if input.sampledevice

hardware := 2 if {
	input.nvidia
	input.nvidia.secboot == true
	input.nvidia.dbgstat == "disabled"
}

executables := 3 if {
	input.nvidia
	input.nvidia.measres == "success"
	input.nvidia["x-nvidia-gpu-vbios-version"] in query_reference_value("allowed_vbios_versions")
	input.nvidia["x-nvidia-gpu-driver-version"] in query_reference_value("allowed_driver_versions")
}

configuration := 2 if {
	input.nvidia
	input.nvidia.dbgstat == "disabled"
}
