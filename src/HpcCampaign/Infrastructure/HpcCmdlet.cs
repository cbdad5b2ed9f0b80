using System.Collections.Concurrent;
using System.Management.Automation;
using System.Security;

namespace HpcCampaign.Infrastructure;

/// <summary>
/// Base of every HpcCampaign cmdlet. Engine work runs on tasks; only the pipeline thread writes (objects, errors,
/// verbose, warnings, progress): engine code reports through an <see cref="IHpcSink"/> that queues, and the
/// pipeline thread drains the queue. Ctrl+C (StopProcessing) cancels <see cref="Cancellation"/>.
/// </summary>
public abstract class HpcCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly BlockingCollection<Action> _queue = new();
    private readonly List<Task> _tasks = new();
    private QueueSink? _sink;

    protected CancellationToken Cancellation => _cts.Token;

    /// <summary>A sink whose calls are replayed on the pipeline thread by <see cref="DrainAvailable"/> / <see cref="WaitForWork"/>.</summary>
    protected IHpcSink PipelineSink => _sink ??= new QueueSink(this);

    protected override void StopProcessing() => _cts.Cancel();

    /// <summary>Starts engine work on the thread pool. Exceptions become error records for <paramref name="target"/>.</summary>
    protected void StartWork(Func<IHpcSink, CancellationToken, Task> work, object? target = null)
    {
        var sink = PipelineSink;
        var task = Task.Run(async () =>
        {
            try
            {
                await work(sink, _cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !_cts.IsCancellationRequested)
            {
                sink.Error(Errors.Unexpected(ex, target));
            }
        });
        lock (_tasks) _tasks.Add(task);
    }

    /// <summary>Runs engine work to the end while draining its output; the usual shape for a single operation.</summary>
    protected void RunWork(Func<IHpcSink, CancellationToken, Task> work, object? target = null)
    {
        StartWork(work, target);
        WaitForWork();
    }

    /// <summary>
    /// -AsJob support: with <paramref name="asJob"/> the work runs in an <see cref="HpcJob"/> that is written to the
    /// pipeline at once; otherwise it runs here, with output streamed. Resolve paths, credentials and ShouldProcess
    /// before calling: a job cannot prompt.
    /// </summary>
    protected void RunOrStartJob(bool asJob, string location, Func<IHpcSink, CancellationToken, Task> work, object? target = null)
    {
        if (asJob) WriteObject(HpcJob.Start(this, location, work));
        else RunWork(work, target);
    }

    /// <summary>Writes whatever workers have queued so far, without waiting. Call from ProcessRecord to stream output.</summary>
    protected void DrainAvailable()
    {
        while (_queue.TryTake(out var action)) action();
    }

    /// <summary>Waits for all started work, writing its output as it comes. Rethrows a pipeline stop after the workers finished.</summary>
    protected void WaitForWork()
    {
        PipelineStoppedException? stopped = null;
        while (true)
        {
            if (_queue.TryTake(out var action, 50))
            {
                if (stopped is not null) continue;  // the pipeline is gone: keep draining so workers can finish cleanly
                try { action(); }
                catch (PipelineStoppedException ex) { stopped = ex; _cts.Cancel(); }
                continue;
            }
            bool done;
            lock (_tasks) done = _tasks.TrueForAll(t => t.IsCompleted);
            if (done && _queue.Count == 0) break;
        }
        lock (_tasks) _tasks.Clear();
        if (stopped is not null || _cts.IsCancellationRequested) throw stopped ?? new PipelineStoppedException();
    }

    /// <summary>Terminating error from an engine exception.</summary>
    protected void Fail(HpcException ex) => ThrowTerminatingError(Errors.From(ex));

    protected void WriteHpcError(HpcException ex) => WriteError(Errors.From(ex));

    /// <summary>Runs a short synchronous engine call on the pipeline thread; HpcException becomes a non-terminating error.</summary>
    protected bool TryEngine(Action call, object? target)
    {
        try
        {
            call();
            return true;
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(Errors.From(Errors.Unexpected(ex, target)));
            return false;
        }
    }

    // ---- paths -------------------------------------------------------------------------------------------------

    /// <summary>
    /// Resolves -Path (wildcards) or -LiteralPath through PowerShell to file-system paths that exist. Each failure is
    /// a per-path error record (PathNotFound, NotFileSystemPath) and the rest go on.
    /// </summary>
    protected List<string> ResolveExistingPaths(IEnumerable<string>? paths, bool literal)
    {
        var result = new List<string>();
        if (paths is null) return result;
        foreach (var p in paths)
        {
            try
            {
                if (literal)
                {
                    var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(p, out var provider, out _);
                    if (!IsFileSystem(provider, p)) continue;
                    if (!File.Exists(full) && !Directory.Exists(full))
                    {
                        WriteError(Errors.Create("PathNotFound", ErrorCategory.ObjectNotFound, $"Cannot find path '{p}' because it does not exist.", p));
                        continue;
                    }
                    result.Add(full);
                }
                else
                {
                    var resolved = GetResolvedProviderPathFromPSPath(p, out var provider);
                    if (!IsFileSystem(provider, p)) continue;
                    if (resolved.Count == 0)
                        WriteError(Errors.Create("PathNotFound", ErrorCategory.ObjectNotFound, $"Cannot find path '{p}' because it does not exist.", p));
                    result.AddRange(resolved);
                }
            }
            catch (ItemNotFoundException)
            {
                WriteError(Errors.Create("PathNotFound", ErrorCategory.ObjectNotFound, $"Cannot find path '{p}' because it does not exist.", p));
            }
            catch (Exception ex) when (ex is ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or NotSupportedException or ArgumentException)
            {
                WriteError(Errors.Create("InvalidPath", ErrorCategory.InvalidArgument, $"'{p}' is not a valid path: {ex.Message}", p, ex));
            }
        }
        return result;
    }

    /// <summary>Resolves a path that may not exist yet (a destination). Null (and an error record) if it is not a file-system path.</summary>
    protected string? ResolveOutputPath(string path)
    {
        try
        {
            var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
            return IsFileSystem(provider, path) ? full : null;
        }
        catch (Exception ex) when (ex is ProviderNotFoundException or System.Management.Automation.DriveNotFoundException or NotSupportedException or ArgumentException or ItemNotFoundException)
        {
            WriteError(Errors.Create("InvalidPath", ErrorCategory.InvalidArgument, $"'{path}' is not a valid path: {ex.Message}", path, ex));
            return null;
        }
    }

    /// <summary>The current PowerShell location as a file-system path (for relative names the engine must record).</summary>
    protected string CurrentFileSystemLocation => SessionState.Path.CurrentFileSystemLocation.ProviderPath;

    private bool IsFileSystem(ProviderInfo provider, string path)
    {
        if (provider.ImplementingType == typeof(Microsoft.PowerShell.Commands.FileSystemProvider)) return true;
        WriteError(Errors.Create("NotFileSystemPath", ErrorCategory.InvalidArgument,
            $"'{path}' is on the {provider.Name} provider; HpcCampaign works with file-system paths only.", path));
        return false;
    }

    // ---- secrets -----------------------------------------------------------------------------------------------

    /// <summary>UTF-8 bytes of a SecureString, for the engine; the caller clears them.</summary>
    protected static byte[] SecureToUtf8(SecureString? secure)
    {
        if (secure is null || secure.Length == 0) return Array.Empty<byte>();
        var plain = new System.Net.NetworkCredential(string.Empty, secure).Password;
        return System.Text.Encoding.UTF8.GetBytes(plain);
    }

    /// <summary>Prompts on the host for a password (no echo).</summary>
    protected SecureString PromptSecure(string prompt)
    {
        Host.UI.Write(prompt + ": ");
        return Host.UI.ReadLineAsSecureString();
    }

    public void Dispose()
    {
        _cts.Dispose();
        _queue.Dispose();
        GC.SuppressFinalize(this);
    }

    private sealed class QueueSink : IHpcSink
    {
        private readonly HpcCmdlet _cmdlet;
        public QueueSink(HpcCmdlet cmdlet) => _cmdlet = cmdlet;
        private void Post(Action a)
        {
            if (!_cmdlet._queue.IsAddingCompleted) _cmdlet._queue.Add(a);
        }
        public void Output(object item) => Post(() => _cmdlet.WriteObject(item));
        public void Error(HpcException error) => Post(() => _cmdlet.WriteError(Errors.From(error)));
        public void Progress(HpcProgress progress) => Post(() => _cmdlet.WriteProgress(Errors.ToProgressRecord(progress)));
        public void Verbose(string message) => Post(() => _cmdlet.WriteVerbose(message));
        public void Warning(string message) => Post(() => _cmdlet.WriteWarning(message));
    }
}
