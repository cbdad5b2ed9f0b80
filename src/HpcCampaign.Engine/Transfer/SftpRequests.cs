using System.Linq.Expressions;
using System.Reflection;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace HpcCampaign.Engine.Transfer;

/// <summary>
/// Asynchronous single SFTP requests for paths that are already absolute, sent straight to the SSH.NET session, so
/// that the requests of many small files can be in flight at once on one connection.
/// <para>Why not the public SftpClient API: it first canonicalizes every path with one or two REALPATH round trips
/// (an upload costs 5 requests instead of 3, a rename 4 instead of 1), and set-attributes and posix-rename exist only
/// as blocking calls, whose kernel waits contend badly on Linux when dozens run side by side. SSH.NET keeps its
/// session type internal, so its request methods are bound once by reflection. When an SSH.NET build lacks them,
/// <see cref="Bind"/> gives the public-API variant: slower, same results (a test checks the fast one is in use).</para>
/// </summary>
internal abstract class SftpRequests
{
    private static readonly AsyncLocal<bool> PublicApiOnly = new();

    /// <summary>Tests set this to run the public-API variant (flows to the tasks and threads started afterwards).</summary>
    internal static bool ForcePublicApi
    {
        get => PublicApiOnly.Value;
        set => PublicApiOnly.Value = value;
    }

    public abstract bool IsDirect { get; }

    /// <summary>How many files a batch should have in flight at once with this variant.</summary>
    public abstract int Parallelism { get; }

    /// <summary>Cancelled when the session reports an error (a dropped connection): pending requests stop waiting.</summary>
    public CancellationToken SessionLost => _sessionLost.Token;
    private readonly CancellationTokenSource _sessionLost = new();

    protected SftpRequests(SftpClient client)
    {
        client.ErrorOccurred += (_, _) =>
        {
            try { _sessionLost.Cancel(); } catch (ObjectDisposedException) { }
        };
    }

    /// <summary>Creates or truncates <paramref name="path"/>, writes <paramref name="data"/>, reads the file back, sets mode
    /// and times, closes; returns what was read back (the caller compares it).</summary>
    public abstract Task<byte[]> WriteAndReadBackAsync(string path, byte[] data, int unixMode, DateTime mtimeUtc, DateTime atimeUtc, CancellationToken ct);

    /// <summary>Atomic rename that replaces an existing target (posix-rename@openssh.com).</summary>
    public abstract Task RenameOverAsync(string from, string to, CancellationToken ct);

    public abstract Task RemoveAsync(string path, CancellationToken ct);

    public static SftpRequests Bind(SftpClient client)
    {
        if (!ForcePublicApi && Direct.TryCreate(client) is { } direct) return direct;
        return new PublicApi(client);
    }

    internal static short ToOctalDigits(int mode) => short.Parse(Convert.ToString(mode & 0xFFF, 8), System.Globalization.CultureInfo.InvariantCulture);

    private sealed class PublicApi : SftpRequests
    {
        private readonly SftpClient _client;

        public PublicApi(SftpClient client) : base(client) => _client = client;

        public override bool IsDirect => false;
        // the blocking calls below run on pool threads: keep them few
        public override int Parallelism => 2;

        public override async Task<byte[]> WriteAndReadBackAsync(string path, byte[] data, int unixMode, DateTime mtimeUtc, DateTime atimeUtc, CancellationToken ct)
        {
            using (var source = new MemoryStream(data, writable: false)) await _client.UploadFileAsync(source, path, ct).ConfigureAwait(false);
            using var back = new MemoryStream(data.Length);
            await _client.DownloadFileAsync(path, back, ct).ConfigureAwait(false);
            var attrs = await _client.GetAttributesAsync(path, ct).ConfigureAwait(false);
            attrs.SetPermissions(ToOctalDigits(unixMode));
            attrs.LastWriteTimeUtc = mtimeUtc;
            attrs.LastAccessTimeUtc = atimeUtc;
            await Task.Run(() => _client.SetAttributes(path, attrs), ct).ConfigureAwait(false);
            return back.ToArray();
        }

        public override Task RenameOverAsync(string from, string to, CancellationToken ct) => Task.Run(() => _client.RenameFile(from, to, true), ct);

        public override Task RemoveAsync(string path, CancellationToken ct) => _client.DeleteFileAsync(path, ct);
    }

    /// <summary>
    /// Builds SSH.NET's own request objects with completion callbacks and hands them to the session: no wait handle
    /// per request (SSH.NET's async methods register one on the thread pool each time, which costs more CPU than the
    /// request), no REALPATH. A dropped session cancels <see cref="SftpRequests.SessionLost"/>, which ends the waits.
    /// Continuations never run on SSH.NET's receive thread: sending the next request can wait for channel window
    /// space, which only that thread can grant.
    /// </summary>
    private sealed class Direct : SftpRequests
    {
        // SSH_FXF_* open flags: READ 1, WRITE 2, CREAT 8, TRUNC 16
        private const int ReadWriteFlags = 1 | 2 | 8 | 16;
        // SSH_FX_* status codes
        private const int Ok = 0, Eof = 1;
        // a 32 KiB SFTP data block fits in one SSH packet on every server
        private const int Block = 32 * 1024;
        private readonly object _session;
        private readonly Compiled _c;

        private Direct(SftpClient client, object session, Compiled compiled) : base(client)
        {
            _session = session;
            _c = compiled;
        }

        public static Direct? TryCreate(SftpClient client)
        {
            try
            {
                var field = typeof(SftpClient).GetField("_sftpSession", BindingFlags.NonPublic | BindingFlags.Instance);
                if (field?.GetValue(client) is not { } session) return null;
                Compiled compiled;
                lock (CompiledGate) compiled = s_compiled is { } c && c.SessionType == session.GetType() ? c : s_compiled = new Compiled(session.GetType());
                return new Direct(client, session, compiled);
            }
            catch (Exception ex) when (ex is MissingMemberException or ArgumentException or InvalidOperationException or AmbiguousMatchException
                                           or TypeLoadException or FieldAccessException or InvalidCastException)
            {
                return null;
            }
        }

        private static readonly object CompiledGate = new();
        private static Compiled? s_compiled;

        /// <summary>The request builders, compiled once per process (they take the session as their first argument).</summary>
        private sealed class Compiled
        {
            public readonly Type SessionType;
            public readonly Func<object, string, Action<byte[]>, Action<int, string>, object> OpenReadWrite;
            public readonly Action<object, byte[], ulong, byte[], int, int, Action<int, string>> Write;
            public readonly Func<object, byte[], ulong, uint, Action<byte[]>, Action<int, string>, object> Read;
            public readonly Func<object, byte[], Action<int, string>, object> Close;
            public readonly Func<object, string, Action<int, string>, object> Remove;
            public readonly Func<object, byte[], SftpFileAttributes, Action<int, string>, object> FSetStat;
            public readonly Func<object, string, string, Action<int, string>, object> PosixRename;
            public readonly Action<object, object> Send;
            public readonly Func<SftpFileAttributes> NewAttributes;

            public Compiled(Type impl)
            {
                SessionType = impl;
                var ssh = impl.Assembly;
                Type Internal(string name) => ssh.GetType(name, throwOnError: true)!;
                var api = Internal("Renci.SshNet.Sftp.ISftpSession");
                var flags = Internal("Renci.SshNet.Sftp.Flags");
                var statusType = Internal("Renci.SshNet.Sftp.Responses.SftpStatusResponse");
                var handleType = Internal("Renci.SshNet.Sftp.Responses.SftpHandleResponse");
                var dataType = Internal("Renci.SshNet.Sftp.Responses.SftpDataResponse");
                var bufferType = Internal("Renci.SshNet.Sftp.Requests.SftpWriteRequestBuffer");
                var requestType = Internal("Renci.SshNet.Sftp.Requests.SftpRequest");
                var session = Expression.Parameter(typeof(object), "session");
                var concrete = Expression.Convert(session, impl);
                var version = Expression.Property(concrete, "ProtocolVersion");
                var requestId = Expression.Property(concrete, "NextRequestId");
                var encodingField = impl.GetField("_encoding", BindingFlags.NonPublic | BindingFlags.Instance) ?? throw new MissingFieldException(impl.FullName, "_encoding");
                var encoding = Expression.Field(concrete, encodingField);
                ConstructorInfo Ctor(string name, params Type[] types) =>
                    Internal("Renci.SshNet.Sftp.Requests." + name).GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, types)
                    ?? throw new MissingMethodException(name, ".ctor");
                Type ActionOf(Type t) => typeof(Action<>).MakeGenericType(t);

                // status callback: (code, message) from an SftpStatusResponse
                var onStatus = Expression.Parameter(typeof(Action<int, string>), "onStatus");
                var status = Expression.Parameter(statusType);
                var statusAction = Expression.Lambda(ActionOf(statusType),
                    Expression.Invoke(onStatus, Expression.Convert(Expression.Property(status, "StatusCode"), typeof(int)), Expression.Property(status, "ErrorMessage")), status);
                var onBytes = Expression.Parameter(typeof(Action<byte[]>), "onBytes");
                var handleResponse = Expression.Parameter(handleType);
                var handleAction = Expression.Lambda(ActionOf(handleType), Expression.Invoke(onBytes, Expression.Property(handleResponse, "Handle")), handleResponse);
                var dataResponse = Expression.Parameter(dataType);
                var dataAction = Expression.Lambda(ActionOf(dataType), Expression.Invoke(onBytes,
                    Expression.Call(typeof(SftpRequests).GetMethod(nameof(CopyOut), BindingFlags.NonPublic | BindingFlags.Static)!, Expression.Property(dataResponse, "Data"))), dataResponse);

                var path = Expression.Parameter(typeof(string), "path");
                var to = Expression.Parameter(typeof(string), "to");
                var handle = Expression.Parameter(typeof(byte[]), "handle");
                var offset = Expression.Parameter(typeof(ulong), "offset");
                var length = Expression.Parameter(typeof(uint), "length");
                var attrs = Expression.Parameter(typeof(SftpFileAttributes), "attrs");
                OpenReadWrite = Expression.Lambda<Func<object, string, Action<byte[]>, Action<int, string>, object>>(
                    Expression.New(Ctor("SftpOpenRequest", typeof(uint), typeof(uint), typeof(string), typeof(System.Text.Encoding), flags, handleAction.Type, statusAction.Type),
                        version, requestId, path, encoding, Expression.Constant(Enum.ToObject(flags, ReadWriteFlags), flags), handleAction, statusAction), session, path, onBytes, onStatus).Compile();
                Read = Expression.Lambda<Func<object, byte[], ulong, uint, Action<byte[]>, Action<int, string>, object>>(
                    Expression.New(Ctor("SftpReadRequest", typeof(uint), typeof(uint), typeof(byte[]), typeof(ulong), typeof(uint), dataAction.Type, statusAction.Type),
                        version, requestId, handle, offset, length, dataAction, statusAction), session, handle, offset, length, onBytes, onStatus).Compile();
                Close = Expression.Lambda<Func<object, byte[], Action<int, string>, object>>(
                    Expression.New(Ctor("SftpCloseRequest", typeof(uint), typeof(uint), typeof(byte[]), statusAction.Type), version, requestId, handle, statusAction), session, handle, onStatus).Compile();
                Remove = Expression.Lambda<Func<object, string, Action<int, string>, object>>(
                    Expression.New(Ctor("SftpRemoveRequest", typeof(uint), typeof(uint), typeof(string), typeof(System.Text.Encoding), statusAction.Type), version, requestId, path, encoding, statusAction),
                    session, path, onStatus).Compile();
                FSetStat = Expression.Lambda<Func<object, byte[], SftpFileAttributes, Action<int, string>, object>>(
                    Expression.New(Ctor("SftpFSetStatRequest", typeof(uint), typeof(uint), typeof(byte[]), typeof(SftpFileAttributes), statusAction.Type), version, requestId, handle, attrs, statusAction),
                    session, handle, attrs, onStatus).Compile();
                PosixRename = Expression.Lambda<Func<object, string, string, Action<int, string>, object>>(
                    Expression.New(Ctor("PosixRenameRequest", typeof(uint), typeof(uint), typeof(string), typeof(string), typeof(System.Text.Encoding), statusAction.Type),
                        version, requestId, path, to, encoding, statusAction), session, path, to, onStatus).Compile();
                var request = Expression.Parameter(typeof(object), "request");
                var sendRequest = impl.GetMethod("SendRequest", BindingFlags.NonPublic | BindingFlags.Instance, new[] { requestType }) ?? throw new MissingMethodException(impl.FullName, "SendRequest");
                Send = Expression.Lambda<Action<object, object>>(Expression.Call(concrete, sendRequest, Expression.Convert(request, requestType)), session, request).Compile();

                // a write goes through the session's own write path (it numbers the request), from a span of the caller's array
                var data = Expression.Parameter(typeof(byte[]), "data");
                var start = Expression.Parameter(typeof(int), "start");
                var count = Expression.Parameter(typeof(int), "count");
                var span = typeof(ReadOnlySpan<byte>);
                var buffer = Expression.New(bufferType.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, new[] { span, typeof(ulong), span, typeof(bool) })
                        ?? throw new MissingMethodException(bufferType.Name, ".ctor"),
                    Expression.Call(span.GetMethod("op_Implicit", new[] { typeof(byte[]) })!, handle), offset,
                    Expression.New(span.GetConstructor(new[] { typeof(byte[]), typeof(int), typeof(int) })!, data, start, count), Expression.Constant(false));
                var requestWrite = api.GetMethod("RequestWrite", new[] { bufferType, statusAction.Type }) ?? throw new MissingMethodException(api.FullName, "RequestWrite");
                Write = Expression.Lambda<Action<object, byte[], ulong, byte[], int, int, Action<int, string>>>(
                    Expression.Call(Expression.Convert(session, api), requestWrite, buffer, statusAction), session, handle, offset, data, start, count, onStatus).Compile();

                // an attribute set whose "original" values are all unset, so only what is assigned later goes on the wire
                var attributesCtor = typeof(SftpFileAttributes).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, null,
                    new[] { typeof(DateTime), typeof(DateTime), typeof(long), typeof(int), typeof(int), typeof(uint), typeof(Dictionary<string, string>) }, null)
                    ?? throw new MissingMethodException(nameof(SftpFileAttributes), ".ctor");
                NewAttributes = Expression.Lambda<Func<SftpFileAttributes>>(Expression.New(attributesCtor,
                    Expression.Constant(DateTime.MinValue), Expression.Constant(DateTime.MinValue), Expression.Constant(-1L),
                    Expression.Constant(-1), Expression.Constant(-1), Expression.Constant(0u),
                    Expression.Constant(null, typeof(Dictionary<string, string>)))).Compile();
            }
        }

        public override bool IsDirect => true;
        public override int Parallelism => 64;

        /// <summary>Sends a request that answers with a status only; completes on SSH_FX_OK.</summary>
        private Task Status(Func<Action<int, string>, object> build, string path, CancellationToken ct)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _c.Send(_session, build((code, message) =>
            {
                if (code == Ok) done.TrySetResult();
                else done.TrySetException(StatusError(code, message, path));
            }));
            return done.Task.WaitAsync(ct);
        }

        /// <summary>Sends a request that answers with bytes (a handle, data) or a status; EOF gives an empty array.</summary>
        private Task<byte[]> Bytes(Func<Action<byte[]>, Action<int, string>, object> build, string path, CancellationToken ct)
        {
            var done = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            _c.Send(_session, build(bytes => done.TrySetResult(bytes), (code, message) =>
            {
                if (code == Eof) done.TrySetResult(Array.Empty<byte>());
                else done.TrySetException(StatusError(code, message, path));
            }));
            return done.Task.WaitAsync(ct);
        }

        /// <summary>One handle for the whole round: open read-write, write, read back to the end, set mode and times
        /// (after the reads, so the access time stays as set), close. Five requests for a small file.</summary>
        public override async Task<byte[]> WriteAndReadBackAsync(string path, byte[] data, int unixMode, DateTime mtimeUtc, DateTime atimeUtc, CancellationToken ct)
        {
            var handle = await Bytes((onHandle, onStatus) => _c.OpenReadWrite(_session, path, onHandle, onStatus), path, ct).ConfigureAwait(false);
            byte[] back;
            try
            {
                var writes = new List<Task>();
                for (var offset = 0; offset < data.Length; offset += Block)
                {
                    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _c.Write(_session, handle, (ulong)offset, data, offset, Math.Min(Block, data.Length - offset), (code, message) =>
                    {
                        if (code == Ok) done.TrySetResult();
                        else done.TrySetException(StatusError(code, message, path));
                    });
                    writes.Add(done.Task);
                }
                await Task.WhenAll(writes).WaitAsync(ct).ConfigureAwait(false);
                using (var content = new MemoryStream(data.Length + 1))
                {
                    // each read asks for one byte more than is left to see: a shorter answer is the end of the file
                    // (a server returns "as many bytes as it can"), so a small file needs one read, not two
                    while (true)
                    {
                        var offset = (ulong)content.Length;
                        var ask = (uint)Math.Min(Block, Math.Max(1, data.Length - content.Length + 1));
                        var chunk = await Bytes((onData, onStatus) => _c.Read(_session, handle, offset, ask, onData, onStatus), path, ct).ConfigureAwait(false);
                        content.Write(chunk);
                        if (chunk.Length < ask || content.Length > data.Length) break;
                    }
                    back = content.ToArray();
                }
                var attrs = _c.NewAttributes();
                attrs.SetPermissions(ToOctalDigits(unixMode));
                attrs.LastWriteTimeUtc = mtimeUtc;
                attrs.LastAccessTimeUtc = atimeUtc;
                await Status(onStatus => _c.FSetStat(_session, handle, attrs, onStatus), path, ct).ConfigureAwait(false);
            }
            catch
            {
                try { await Status(onStatus => _c.Close(_session, handle, onStatus), path, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
                catch (Exception) { }
                throw;
            }
            await Status(onStatus => _c.Close(_session, handle, onStatus), path, ct).ConfigureAwait(false);
            return back;
        }

        public override Task RenameOverAsync(string from, string to, CancellationToken ct) =>
            Status(onStatus => _c.PosixRename(_session, from, to, onStatus), to, ct);

        public override Task RemoveAsync(string path, CancellationToken ct) => Status(onStatus => _c.Remove(_session, path, onStatus), path, ct);
    }

    private static byte[] CopyOut(ArraySegment<byte> data) => data.ToArray();

    /// <summary>The exceptions SSH.NET itself raises for these SFTP status codes, so failures are classified alike.</summary>
    private static Exception StatusError(int code, string message, string path) => code switch
    {
        2 => new SftpPathNotFoundException($"{message} ({path})"),
        3 => new SftpPermissionDeniedException($"{message} ({path})"),
        _ => new SshException($"SFTP status {code}: {message} ({path})"),
    };
}
