/**
 * Decides whether a token is valid for a tenant. The tenants file is the
 * embedded default; a Keystone validator can take its place.
 */
export interface TokenValidator {
  validate(tenant: string, token: string): Promise<boolean>;
}
