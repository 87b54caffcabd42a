# Default KBS resource policy (CoCo Deno): release resources of the `resource` plugin to any
# attested guest whose primary evidence is not from the development-only sample TEE.
package policy

default allow = false

allow if {
	data.plugin == "resource"
	not input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
