# Default appraisal policy for CPU-class evidence (CoCo Deno).
#
# Produces the AR4SI trust vector of an EAR appraisal. Every claim starts at a value that keeps
# the submod contraindicated (executables 33 "unrecognized", hardware 97 "unrecognized",
# configuration 36 "unavailable") and improves only when the evidence matches reference values
# registered in the RVPS (queried with the query_reference_value builtin).
package policy

import rego.v1

default executables := 33

default hardware := 97

default configuration := 36

default file_system := 0

default instance_identity := 0

default runtime_opaque := 0

default storage_opaque := 0

default sourced_data := 0

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": file_system,
	"instance-identity": instance_identity,
	"runtime-opaque": runtime_opaque,
	"storage-opaque": storage_opaque,
	"sourced-data": sourced_data,
}

# --- sample (development only) ---

executables := 3 if {
	input.sample
	input.sample.launch_digest in query_reference_value("launch_digest")
}

hardware := 2 if {
	input.sample
	input.sample.svn in query_reference_value("svn")
	input.sample.platform_version.major == query_reference_value("major_version")
	input.sample.platform_version.minor >= query_reference_value("minimum_minor_version")
}

configuration := 2 if {
	input.sample
	input.sample.debug == false
}

# --- AMD SEV-SNP ---

executables := 3 if {
	input.snp
	input.snp.measurement in query_reference_value("snp_launch_measurement")
}

hardware := 2 if {
	input.snp
	input.snp.reported_tcb_bootloader in query_reference_value("snp_bootloader")
	input.snp.reported_tcb_microcode in query_reference_value("snp_microcode")
	input.snp.reported_tcb_snp in query_reference_value("snp_snp_svn")
	input.snp.reported_tcb_tee in query_reference_value("snp_tee_svn")
}

configuration := 2 if {
	snp_safe_policy
	input.snp.platform_smt_enabled == query_reference_value("snp_smt_enabled")
	input.snp.platform_tsme_enabled == query_reference_value("snp_tsme_enabled")
	input.snp.policy_abi_major == query_reference_value("snp_guest_abi_major")
	input.snp.policy_abi_minor == query_reference_value("snp_guest_abi_minor")
	input.snp.policy_single_socket == query_reference_value("snp_single_socket")
	input.snp.policy_smt_allowed == query_reference_value("snp_smt_allowed")
} else := 3 if {
	snp_safe_policy
}

snp_safe_policy if {
	input.snp
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
}

# --- Intel TDX ---

executables := 3 if {
	tdx_rtmrs_known
	tdx_event_matches("EV_EFI_BOOT_SERVICES_APPLICATION", "tdvfkernel")
	tdx_event_matches("EV_EVENT_TAG", "tdvfkernelparams")
} else := 4 if {
	tdx_rtmrs_known
}

tdx_rtmrs_known if {
	input.tdx
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
	input.tdx.quote.body.rtmr_2 in query_reference_value("rtmr_2")
}

tdx_event_matches(kind, rv) if {
	some event in input.tdx.uefi_event_logs
	event.type_name == kind
	some d in event.digests
	d.digest == query_reference_value(rv)
}

hardware := 2 if {
	input.tdx
	input.tdx.quote.header.tee_type == "81000000"
	input.tdx.quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input.tdx.quote.body.mr_td in query_reference_value("mr_td")
	input.tdx.tcb_status == "UpToDate"
	input.tdx.collateral_expiration_status == "0"
}

configuration := 2 if {
	input.tdx
	input.tdx.td_attributes.debug == false
	input.tdx.quote.body.xfam in query_reference_value("xfam")
}

# --- Azure SNP vTPM ---

executables := 3 if {
	az := input["az-snp-vtpm"]
	az.measurement in query_reference_value("measurement")
	az.tpm.pcr11 in query_reference_value("snp_pcr11")
}

hardware := 2 if {
	az := input["az-snp-vtpm"]
	az.reported_tcb_bootloader in query_reference_value("tcb_bootloader")
	az.reported_tcb_microcode in query_reference_value("tcb_microcode")
	az.reported_tcb_snp in query_reference_value("tcb_snp")
	az.reported_tcb_tee in query_reference_value("tcb_tee")
}

configuration := 2 if {
	az := input["az-snp-vtpm"]
	az.platform_smt_enabled in query_reference_value("smt_enabled")
	az.platform_tsme_enabled in query_reference_value("tsme_enabled")
	az.policy_abi_major in query_reference_value("abi_major")
	az.policy_abi_minor in query_reference_value("abi_minor")
	az.policy_single_socket in query_reference_value("single_socket")
	az.policy_smt_allowed in query_reference_value("smt_allowed")
}

# --- Azure TDX vTPM ---

executables := 3 if {
	input["az-tdx-vtpm"].tpm.pcr11 in query_reference_value("tdx_pcr11")
}

hardware := 2 if {
	az := input["az-tdx-vtpm"]
	az.quote.header.tee_type == "81000000"
	az.quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	az.quote.body.mr_td in query_reference_value("mr_td")
	az.tcb_status == "UpToDate"
}

configuration := 2 if {
	input["az-tdx-vtpm"].quote.body.xfam in query_reference_value("xfam")
}

# --- TPM (not bound to a TEE: hardware is taken on trust of the AK) ---

hardware := 2 if input.tpm

executables := 3 if {
	input.tpm
	input.tpm.pcr11 in query_reference_value("tpm_pcr11")
	input.tpm.ak_public in query_reference_value("trusted_aks")
}

configuration := 0 if input.tpm

# --- IBM Secure Execution: the verifier already checked measurements and binding ---

executables := 3 if input.se

hardware := 2 if input.se

configuration := 2 if input.se

# --- Extensions: workload identifiers taken from the init-data agent policy ---

extensions := [{
	"name": "ear.trustee.identifiers",
	"key": -18,
	"value": {"validated": object.union_n([images_claim, uids_claim])},
}]

policy_containers := object.get(input, ["init_data_claims", "agent_policy_claims", "containers"], [])

container_images := [image |
	some c in policy_containers
	image := c.OCI.Annotations["io.kubernetes.cri.image-name"]
]

container_uids := [uid |
	some c in policy_containers
	uid := c.OCI.Process.User.UID
]

images_claim := {"container_images": container_images} if count(container_images) > 0 else := {}

uids_claim := {"container_uids": container_uids} if count(container_uids) > 0 else := {}
