// Package auth holds who may do what: API tokens with a role (viewer <
// editor < admin), their storage (a file in the embedded store's data
// directory, or a PostGIS table) and the append-only audit log of writes.
//
// A token is 32 random bytes shown once as "rm_" + base64url; only its
// SHA-256 is stored. Lookups read the store on every request, so a revoked
// token stops working at once, also when another process revoked it.
package auth
