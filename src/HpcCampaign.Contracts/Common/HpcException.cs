namespace HpcCampaign;

/// <summary>What kind of failure an <see cref="HpcException"/> is; the cmdlet layer maps it to an ErrorCategory.</summary>
public enum HpcErrorKind
{
    NotSpecified,
    ObjectNotFound,
    InvalidArgument,
    InvalidData,
    InvalidOperation,
    PermissionDenied,
    AuthenticationError,
    ConnectionError,
    OperationTimeout,
    ResourceExists,
    ResourceUnavailable,
    NotImplemented,
    OperationStopped,
}

/// <summary>
/// A failure the engine reports on purpose: a stable error id (PascalCase, no data in it), a kind, a message for
/// people and the item it concerns. Anything else escaping the engine is a bug and is reported as such.
/// </summary>
public class HpcException : Exception
{
    public HpcException(string errorId, HpcErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }
    public HpcErrorKind Kind { get; }
    public object? Target { get; }
    /// <summary>Optional advice shown to the user ("run Update-Campaign").</summary>
    public string? RecommendedAction { get; init; }
}
