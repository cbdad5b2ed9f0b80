using System.Management.Automation;

namespace HpcCampaign.Infrastructure;

/// <summary>
/// The job that -AsJob returns. Runs engine work on a task and writes to its own thread-safe streams, so Get-Job,
/// Wait-Job, Receive-Job (typed output, errors, progress), Stop-Job and Remove-Job work in any host, without
/// Start-Job or ThreadJob. Ends Completed, Failed (the work threw) or Stopped (Stop-Job).
/// </summary>
public sealed class HpcJob : Job
{
    private readonly CancellationTokenSource _cts = new();
    private readonly Type _commandType;
    private readonly string _location;
    private Task? _task;
    private string _status = "NotStarted";

    private HpcJob(string command, string name, Type commandType, string location) : base(command, name)
    {
        _commandType = commandType;
        _location = location;
        PSJobTypeName = "HpcCampaignJob";
    }

    public override bool HasMoreData =>
        Output.Count > 0 || Error.Count > 0 || Progress.Count > 0 || Verbose.Count > 0 || Warning.Count > 0;
    public override string Location => _location;
    public override string StatusMessage => _status;

    /// <summary>Creates the job, registers it in the session's JobRepository and starts the work.</summary>
    public static HpcJob Start(PSCmdlet cmdlet, string location, Func<IHpcSink, CancellationToken, Task> work, string? name = null)
    {
        var command = cmdlet.MyInvocation.Line is { Length: > 0 } line ? line.Trim() : cmdlet.MyInvocation.MyCommand.Name;
        var job = new HpcJob(command, name ?? cmdlet.MyInvocation.MyCommand.Name, cmdlet.GetType(), location);
        cmdlet.JobRepository.Add(job);
        job.Run(work);
        return job;
    }

    private void Run(Func<IHpcSink, CancellationToken, Task> work)
    {
        SetJobState(JobState.Running);
        _status = "Running";
        var sink = new JobSink(this);
        _task = Task.Run(async () =>
        {
            try
            {
                await work(sink, _cts.Token).ConfigureAwait(false);
                Finish(_cts.IsCancellationRequested ? JobState.Stopped : JobState.Completed);
            }
            catch (OperationCanceledException) when (_cts.IsCancellationRequested)
            {
                Finish(JobState.Stopped);
            }
            catch (Exception ex)
            {
                Error.Add(Errors.FromForJob(Errors.Unexpected(ex, null), _commandType));
                Finish(JobState.Failed);
            }
        });
    }

    private void Finish(JobState state)
    {
        _status = state.ToString();
        Output.Complete();
        Error.Complete();
        Progress.Complete();
        Verbose.Complete();
        Warning.Complete();
        Debug.Complete();
        Information.Complete();
        SetJobState(state);
    }

    public override void StopJob()
    {
        _cts.Cancel();
        // give the work a moment to clean up (temp files, connections) so Stop-Job returns a Stopped job
        try { _task?.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        if (!IsFinishedState(JobStateInfo.State)) Finish(JobState.Stopped);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _cts.Cancel();
            _cts.Dispose();
        }
        base.Dispose(disposing);
    }

    private static bool IsFinishedState(JobState s) => s is JobState.Completed or JobState.Failed or JobState.Stopped;

    private sealed class JobSink : IHpcSink
    {
        private readonly HpcJob _job;
        public JobSink(HpcJob job) => _job = job;
        public void Output(object item) { if (_job.Output.IsOpen) _job.Output.Add(PSObject.AsPSObject(item)); }
        public void Error(HpcException error) { if (_job.Error.IsOpen) _job.Error.Add(Errors.FromForJob(error, _job._commandType)); }
        public void Progress(HpcProgress progress) { if (_job.Progress.IsOpen) _job.Progress.Add(Errors.ToProgressRecord(progress)); }
        public void Verbose(string message) { if (_job.Verbose.IsOpen) _job.Verbose.Add(new VerboseRecord(message)); }
        public void Warning(string message) { if (_job.Warning.IsOpen) _job.Warning.Add(new WarningRecord(message)); }
    }
}
