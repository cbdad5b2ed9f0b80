using System.Management.Automation;

namespace HpcCampaign.Infrastructure;

/// <summary>Builds ErrorRecords with stable ids and the right category.</summary>
public static class Errors
{
    public static ErrorCategory CategoryOf(HpcErrorKind kind) => kind switch
    {
        HpcErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        HpcErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        HpcErrorKind.InvalidData => ErrorCategory.InvalidData,
        HpcErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        HpcErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        HpcErrorKind.AuthenticationError => ErrorCategory.AuthenticationError,
        HpcErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        HpcErrorKind.OperationTimeout => ErrorCategory.OperationTimeout,
        HpcErrorKind.ResourceExists => ErrorCategory.ResourceExists,
        HpcErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        HpcErrorKind.NotImplemented => ErrorCategory.NotImplemented,
        HpcErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    };

    public static ErrorRecord From(HpcException ex)
    {
        var record = new ErrorRecord(ex, ex.ErrorId, CategoryOf(ex.Kind), ex.Target);
        if (ex.RecommendedAction is not null)
            record.ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = ex.RecommendedAction };
        return record;
    }

    /// <summary>For records that do not pass through Cmdlet.WriteError (jobs): the id carries the command class like WriteError adds.</summary>
    public static ErrorRecord FromForJob(HpcException ex, Type commandType)
    {
        var record = new ErrorRecord(ex, ex.ErrorId + "," + commandType.FullName, CategoryOf(ex.Kind), ex.Target);
        if (ex.RecommendedAction is not null)
            record.ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = ex.RecommendedAction };
        return record;
    }

    public static ErrorRecord Create(string errorId, ErrorCategory category, string message, object? target, Exception? inner = null) =>
        new(new HpcException(errorId, HpcErrorKind.NotSpecified, message, target, inner), errorId, category, target);

    /// <summary>Wraps an exception that the engine did not anticipate: still a record, never a raw stack trace.</summary>
    public static HpcException Unexpected(Exception ex, object? target) => ex switch
    {
        HpcException h => h,
        UnauthorizedAccessException => new HpcException("AccessDenied", HpcErrorKind.PermissionDenied, ex.Message, target, ex),
        FileNotFoundException or DirectoryNotFoundException => new HpcException("PathNotFound", HpcErrorKind.ObjectNotFound, ex.Message, target, ex),
        IOException => new HpcException("IOError", HpcErrorKind.ResourceUnavailable, ex.Message, target, ex),
        TimeoutException => new HpcException("Timeout", HpcErrorKind.OperationTimeout, ex.Message, target, ex),
        OperationCanceledException => new HpcException("OperationStopped", HpcErrorKind.OperationStopped, "The operation was stopped.", target, ex),
        _ => new HpcException("UnexpectedError", HpcErrorKind.NotSpecified, $"{ex.GetType().Name}: {ex.Message}", target, ex),
    };

    public static ProgressRecord ToProgressRecord(HpcProgress p)
    {
        var record = new ProgressRecord(p.ActivityId, p.Activity, string.IsNullOrEmpty(p.Status) ? " " : p.Status)
        {
            ParentActivityId = p.ParentActivityId,
            PercentComplete = Math.Clamp(p.PercentComplete, -1, 100),
            SecondsRemaining = p.SecondsRemaining,
            RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        };
        if (p.CurrentOperation is not null) record.CurrentOperation = p.CurrentOperation;
        return record;
    }
}
