/**
 * An error answer of the simulated management server: HTTP status equal to
 * the errorcode, the CloudStack error envelope, and X-Description unless it
 * is one of the servlet's own authentication failures.
 */
export class ApiError extends Error {
  constructor(
    readonly errorcode: number,
    readonly errortext: string,
    readonly cserrorcode?: number,
    /** ServerApiException errors carry X-Description; the servlet's 401s do not. */
    readonly described = true,
  ) {
    super(errortext);
    this.name = 'ApiError';
  }
}

/** The exception classes' codes (CSExceptionErrorCode) the simulator reports. */
export const CS = {
  serverApi: 9999,
  cloudRuntime: 4250,
  invalidParameterValue: 4350,
  permissionDenied: 4365,
  resourceAllocation: 4370,
  insufficientServerCapacity: 4335,
  resourceInUse: 4375,
} as const;

export const BAD_CREDENTIALS = 'unable to verify user credentials and/or request signature';

export function authFailure(text = BAD_CREDENTIALS): ApiError {
  return new ApiError(401, text, undefined, false);
}

export function missingParameter(command: string, param: string): ApiError {
  return new ApiError(431, `Unable to execute API command ${command.toLowerCase()} due to missing parameter ${param}`, CS.serverApi);
}

export function invalidValue(command: string, param: string, value: string): ApiError {
  return new ApiError(
    431,
    `Unable to execute API command ${command.toLowerCase()} due to invalid value. Invalid parameter ${param} value=${value} ` +
      'due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.',
    CS.serverApi,
  );
}

/** A user error raised by the command's own checks (InvalidParameterValueException). */
export function invalidParameter(text: string): ApiError {
  return new ApiError(431, text, CS.invalidParameterValue);
}
