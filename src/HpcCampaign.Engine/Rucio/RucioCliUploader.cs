using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// -RucioCommand transport: runs the real `rucio upload` (e.g. inside apptainer) once per batch, ThrottleLimit
/// batches at a time. Unlike the DAC tool each batch gets its OWN working directory, so its rucio_upload.json
/// cannot be overwritten by another batch; arguments are passed as a list (no shell, so quotes and spaces in paths
/// are safe). Files missing from a batch's summary are retried in a new batch run with back-off, then failed.
/// </summary>
public sealed class RucioCliUploader
{
    private const int ProgressId = 52;
    private readonly RucioUploadOptions _options;
    private readonly IHpcSink _sink;
    private readonly RucioSummary _summary;
    private readonly string _workRoot;
    private int _batchesDone, _uploaded, _skipped, _failed;

    public RucioCliUploader(RucioUploadOptions options, IHpcSink sink)
    {
        if (options.RucioCommand is not { Count: > 0 })
            throw new HpcException("RucioCommandMissing", HpcErrorKind.InvalidArgument, "The CLI transport needs the rucio command.", null);
        _options = options;
        _sink = sink;
        _summary = RucioSummary.Open(options.SummaryPath);
        _workRoot = options.WorkDirectory
            ?? Path.Combine(options.SummaryPath is { } s ? Path.GetDirectoryName(Path.GetFullPath(s))! : Path.GetTempPath(), ".rucio-batches");
    }

    /// <summary>The command line of one batch (after the command's own leading arguments).</summary>
    public IReadOnlyList<string> Arguments(IEnumerable<string> paths)
    {
        var args = new List<string>();
        if (_options.ConfigPath is { } cfg) args.AddRange(new[] { "--config", cfg });
        args.AddRange(new[] { "upload", "--scope", _options.Scope, "--rse", _options.Rse });
        if (_options.Lifetime is { } l) args.AddRange(new[] { "--lifetime", l.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (_options.Impl is { } impl) args.AddRange(new[] { "--impl", impl });
        if (_options.Scheme is { } scheme) args.AddRange(new[] { "--protocol", scheme });
        if (_options.RegisterAfterUpload) args.Add("--register-after-upload");
        args.Add("--summary");
        args.AddRange(paths);
        if (_options.DatasetDid is { } ds) args.Add($"{ds.Scope}:{ds.Name}");
        return args;
    }

    public async Task<IReadOnlyList<RucioUploadRecord>> RunAsync(IReadOnlyList<RucioUploadItem> items, CancellationToken ct)
    {
        var records = new List<RucioUploadRecord>();
        var unique = RucioBatchCommon.RejectDuplicateNames(items, _options, _sink, records, _summary);
        var todo = new List<RucioUploadItem>();
        foreach (var item in unique)
        {
            if (item.Path.Contains(':'))
            {
                // rucio upload reads any argument with ':' as a dataset DID
                Emit(records, new RucioUploadRecord(item.Path, _options.Scope, item.Name, new FileInfo(item.Path).Length, null, null, null, _options.Rse, null,
                    RucioUploadState.Failed, $"'{item.Path}' contains ':', which rucio upload takes for a dataset DID; rename it or use the native transport.", "PathContainsColon", 0, 0));
                continue;
            }
            if (item.Name != Path.GetFileName(item.Path))
            {
                Emit(records, new RucioUploadRecord(item.Path, _options.Scope, item.Name, new FileInfo(item.Path).Length, null, null, null, _options.Rse, null,
                    RucioUploadState.Failed, "rucio upload names a file after its file name; other DID names need the native transport.", "NameNotSupported", 0, 0));
                continue;
            }
            var previous = _summary.Previous($"{_options.Scope}:{item.Name}");
            if (previous is not null && await SameAsPreviousAsync(item, previous, ct).ConfigureAwait(false))
            {
                Emit(records, new RucioUploadRecord(item.Path, _options.Scope, item.Name, previous["bytes"]!.GetValue<long>(), (string?)previous["adler32"],
                    (string?)previous["md5"], (string?)previous["pfn"], (string?)previous["rse"] ?? _options.Rse, (string?)previous["guid"], RucioUploadState.Skipped, null, null, 0, 0));
                Interlocked.Increment(ref _skipped);
                continue;
            }
            todo.Add(item);
        }

        var batches = RucioUploader.Batches(todo, Math.Max(1, _options.BatchSize));
        var channel = Channel.CreateUnbounded<(int, List<RucioUploadItem>)>();
        for (var i = 0; i < batches.Count; i++) channel.Writer.TryWrite((i + 1, batches[i]));
        channel.Writer.Complete();
        var workers = Enumerable.Range(0, Math.Clamp(_options.ThrottleLimit, 1, Math.Max(1, batches.Count))).Select(_ => Task.Run(async () =>
        {
            while (await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                while (channel.Reader.TryRead(out var b))
                {
                    await RunBatchAsync(b.Item1, b.Item2, records, ct).ConfigureAwait(false);
                    var done = Interlocked.Increment(ref _batchesDone);
                    _sink.Progress(new HpcProgress(ProgressId, $"rucio upload to {_options.Rse}",
                        $"batch {done}/{batches.Count}: {_uploaded} uploaded, {_skipped} skipped, {_failed} failed") { PercentComplete = done * 100 / batches.Count });
                    _summary.Save();
                }
        }, ct)).ToList();
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            _summary.Save();
            _sink.Progress(new HpcProgress(ProgressId, "rucio upload", "done") { Completed = true });
        }
        return records;
    }

    private static async Task<bool> SameAsPreviousAsync(RucioUploadItem item, JsonObject previous, CancellationToken ct)
    {
        var bytes = previous["bytes"]?.GetValue<long>();
        if (bytes != new FileInfo(item.Path).Length) return false;
        var sums = await FileChecksums.ComputeAsync(item.Path, ct).ConfigureAwait(false);
        return Adler32.Same((string?)previous["adler32"], sums.Adler32);
    }

    private void Emit(List<RucioUploadRecord> records, RucioUploadRecord r)
    {
        lock (records) records.Add(r);
        _summary.Add(r);
        _sink.Output(r);
        if (r.State == RucioUploadState.Failed)
        {
            Interlocked.Increment(ref _failed);
            _sink.Error(new HpcException(r.ErrorId ?? "RucioUploadFailed", HpcErrorKind.ResourceUnavailable, $"{r.Did}: {r.Error}", r.Path));
        }
        else if (r.State == RucioUploadState.Uploaded) Interlocked.Increment(ref _uploaded);
    }

    private async Task RunBatchAsync(int batch, List<RucioUploadItem> items, List<RucioUploadRecord> records, CancellationToken ct)
    {
        var pending = items;
        string? lastError = null;
        for (var attempt = 0; attempt < _options.Attempts && pending.Count > 0; attempt++)
        {
            if (attempt > 0) await Task.Delay(_options.Backoff(attempt - 1), ct).ConfigureAwait(false);
            var workDir = Path.Combine(_workRoot, $"batch-{batch:D5}-{attempt + 1}-{Guid.NewGuid().ToString("N")[..8]}");
            Directory.CreateDirectory(workDir);
            var (exitCode, log) = await RunRucioAsync(workDir, pending.Select(p => p.Path), ct).ConfigureAwait(false);
            var summaryFile = Path.Combine(workDir, "rucio_upload.json");
            JsonObject? batchSummary = null;
            if (File.Exists(summaryFile))
            {
                try { batchSummary = JsonNode.Parse(await File.ReadAllTextAsync(summaryFile, ct).ConfigureAwait(false)) as JsonObject; }
                catch (System.Text.Json.JsonException ex) { lastError = $"its rucio_upload.json is not valid JSON: {ex.Message}"; }
            }
            var next = new List<RucioUploadItem>();
            foreach (var item in pending)
            {
                var entry = batchSummary?[$"{_options.Scope}:{item.Name}"] as JsonObject;
                if (entry is null) { next.Add(item); continue; }
                Emit(records, new RucioUploadRecord(item.Path, (string?)entry["scope"] ?? _options.Scope, (string?)entry["name"] ?? item.Name,
                    entry["bytes"]?.GetValue<long>() ?? -1, (string?)entry["adler32"], (string?)entry["md5"], (string?)entry["pfn"],
                    (string?)entry["rse"] ?? _options.Rse, (string?)entry["guid"], RucioUploadState.Uploaded, null, null, batch, attempt + 1));
            }
            if (next.Count == 0) { TryDeleteDirectory(workDir); return; }
            lastError = $"rucio upload exited with {exitCode} and did not list the file in its summary (log: {Path.Combine(workDir, "rucio.log")}): {Tail(log)}";
            _sink.Verbose($"Batch {batch} attempt {attempt + 1}: {next.Count} file(s) not uploaded; {lastError}");
            pending = next;
        }
        foreach (var item in pending)
            Emit(records, new RucioUploadRecord(item.Path, _options.Scope, item.Name, new FileInfo(item.Path).Length, null, null, null, _options.Rse, null,
                RucioUploadState.Failed, lastError, "RucioUploadFailed", batch, _options.Attempts));
    }

    private static string Tail(string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.TakeLast(3));
    }

    private static void TryDeleteDirectory(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    private async Task<(int ExitCode, string Log)> RunRucioAsync(string workDir, IEnumerable<string> paths, CancellationToken ct)
    {
        var command = _options.RucioCommand!;
        var psi = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var a in Arguments(paths)) psi.ArgumentList.Add(a);
        if (_options.CommandEnvironment is { } env)
            foreach (var (k, v) in env) psi.Environment[k] = v;
        var logPath = Path.Combine(workDir, "rucio.log");
        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new HpcException("RucioCommandNotFound", HpcErrorKind.ObjectNotFound, $"Cannot start '{command[0]}': {ex.Message}", command[0], ex);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.BatchTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            ct.ThrowIfCancellationRequested();
            await File.WriteAllTextAsync(logPath, "timed out after " + _options.BatchTimeout, CancellationToken.None).ConfigureAwait(false);
            return (-1, "timed out after " + _options.BatchTimeout);
        }
        var log = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
        await File.WriteAllTextAsync(logPath, log, ct).ConfigureAwait(false);
        return (process.ExitCode, log);
    }
}
