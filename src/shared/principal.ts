/**
 * @module shared/principal
 * Who is calling, and what they ask to do: shared by the signature verifier, the policy engine and every service.
 */

/** Who is calling, resolved from the request's credentials. */
export interface Principal {
  kind: 'user' | 'assumed-role' | 'federated' | 'anonymous';
  accountId: string;
  accountAlias?: string;
  /** `AIDA…` for users, `AROA…:<session>` for role sessions. */
  userId: string;
  /** The user name, or the role name for a role session. */
  userName: string;
  /** IAM path of the user (`/` by default). */
  path?: string;
  /** `arn:aws:iam::<acct>:user/<path><name>` or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
  arn: string;
  /** The `eucalyptus` account's principals: allowed everything, everywhere. */
  isCloudAdmin: boolean;
  /** The `admin` user of its account: allowed everything in its account. */
  isAccountAdmin: boolean;
  accessKeyId?: string;
  /** Temporary credentials: the session token presented, and when it expires. */
  sessionToken?: string;
  sessionExpiry?: Date;
  /** Role sessions: the role, and the session policy document if one was passed to AssumeRole. */
  role?: { roleId: string; roleName: string; arn: string; sessionName: string; sessionPolicy?: string };
}

/** One authorization question: may the principal do `action` on `resource`? */
export interface AuthzRequest {
  /** `ec2:RunInstances`, `s3:GetObject`, `iam:CreateUser` … */
  action: string;
  /** ARN(s); `*` when the action has no resource. */
  resources: string[];
  /** Service-specific condition keys (`s3:prefix`, `ec2:InstanceType` …). */
  conditions?: Record<string, string | string[]>;
  /** The account that owns the resource, when known (cross-account checks). */
  resourceAccount?: string;
}

/** A secret key and the principal it authenticates, as the credential store returns it. */
export interface SigningIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  principal: Principal;
  /** Temporary credentials only: the token that must accompany the key. */
  sessionToken?: string;
  expiresAt?: Date;
}

/** Looks up access keys (Active keys only) for signature verification. Implemented by the CLC's IAM store. */
export interface CredentialStore {
  lookup(accessKeyId: string): Promise<SigningIdentity | null>;
}
