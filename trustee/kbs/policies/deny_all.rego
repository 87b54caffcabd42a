# Deny every request.
package policy

default allow = false
