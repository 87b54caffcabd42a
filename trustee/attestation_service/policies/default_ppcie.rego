# Default appraisal policy for the protected-PCIe aggregate (CoCo Deno): configuration approved,
# nothing else asserted, so the submod is affirming.
package policy

import rego.v1

trust_claims := {"configuration": 2}
