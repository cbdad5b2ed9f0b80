namespace HpcCampaign;

/// <summary>
/// Where engine operations report. Implementations are thread-safe: the engine may call them from any thread.
/// The cmdlet implementation queues everything for the pipeline thread; the job implementation writes to the
/// job's streams.
/// </summary>
public interface IHpcSink
{
    void Output(object item);
    void Error(HpcException error);
    void Progress(HpcProgress progress);
    void Verbose(string message);
    void Warning(string message);
}

/// <summary>A progress report, independent of PowerShell's ProgressRecord.</summary>
public sealed class HpcProgress
{
    public HpcProgress(int activityId, string activity, string status)
    {
        ActivityId = activityId;
        Activity = activity;
        Status = status;
    }

    public int ActivityId { get; }
    public string Activity { get; }
    public string Status { get; }
    public int ParentActivityId { get; init; } = -1;
    public int PercentComplete { get; init; } = -1;
    public int SecondsRemaining { get; init; } = -1;
    public string? CurrentOperation { get; init; }
    public bool Completed { get; init; }
}

/// <summary>A sink that drops everything; for engine calls made outside a cmdlet (tests, benchmarks).</summary>
public sealed class NullSink : IHpcSink
{
    public static readonly NullSink Instance = new();
    public void Output(object item) { }
    public void Error(HpcException error) { }
    public void Progress(HpcProgress progress) { }
    public void Verbose(string message) { }
    public void Warning(string message) { }
}

/// <summary>A sink that collects everything in memory; thread-safe. Used by tests and simple callers.</summary>
public sealed class CollectingSink : IHpcSink
{
    private readonly object _gate = new();
    public List<object> Outputs { get; } = new();
    public List<HpcException> Errors { get; } = new();
    public List<HpcProgress> ProgressRecords { get; } = new();
    public List<string> VerboseMessages { get; } = new();
    public List<string> Warnings { get; } = new();
    public void Output(object item) { lock (_gate) Outputs.Add(item); }
    public void Error(HpcException error) { lock (_gate) Errors.Add(error); }
    public void Progress(HpcProgress progress) { lock (_gate) ProgressRecords.Add(progress); }
    public void Verbose(string message) { lock (_gate) VerboseMessages.Add(message); }
    public void Warning(string message) { lock (_gate) Warnings.Add(message); }
}
