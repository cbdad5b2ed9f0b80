using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Security;

namespace HpcCampaign.Engine.Connector;

/// <summary>
/// The keys of a running ssh-agent ($SSH_AUTH_SOCK), for public-key logins (SSH.NET has no agent support). The agent
/// protocol (draft-miller-ssh-agent): REQUEST_IDENTITIES (11) → IDENTITIES_ANSWER (12); SIGN_REQUEST (13) →
/// SIGN_RESPONSE (14). Private keys never leave the agent.
/// </summary>
internal sealed class SshAgentKeys : IPrivateKeySource
{
    private const byte RequestIdentities = 11;
    private const byte IdentitiesAnswer = 12;
    private const byte SignRequest = 13;
    private const byte SignResponse = 14;
    private const uint RsaSha256 = 2;
    private const uint RsaSha512 = 4;

    private SshAgentKeys(IReadOnlyCollection<HostAlgorithm> algorithms) => HostKeyAlgorithms = algorithms;

    public IReadOnlyCollection<HostAlgorithm> HostKeyAlgorithms { get; }

    /// <summary>Every key the agent holds, one source per key; empty when there is no agent or it has no keys.</summary>
    public static IReadOnlyList<SshAgentKeys> Load(string? socketPath)
    {
        if (string.IsNullOrEmpty(socketPath) || !File.Exists(socketPath)) return Array.Empty<SshAgentKeys>();
        byte[] answer;
        try
        {
            answer = Call(socketPath, new[] { RequestIdentities });
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException)
        {
            return Array.Empty<SshAgentKeys>();
        }
        if (answer.Length < 5 || answer[0] != IdentitiesAnswer) return Array.Empty<SshAgentKeys>();
        var result = new List<SshAgentKeys>();
        var offset = 1;
        var count = ReadUInt32(answer, ref offset);
        for (var i = 0; i < count; i++)
        {
            var blob = ReadString(answer, ref offset);
            ReadString(answer, ref offset);  // comment
            var type = Encoding.ASCII.GetString(ReadStringAt(blob, 0));
            var algorithms = type switch
            {
                "ssh-rsa" => new HostAlgorithm[]
                {
                    new AgentAlgorithm("rsa-sha2-512", blob, RsaSha512, socketPath),
                    new AgentAlgorithm("rsa-sha2-256", blob, RsaSha256, socketPath),
                    new AgentAlgorithm("ssh-rsa", blob, 0, socketPath),
                },
                _ when type.Contains("-cert-", StringComparison.Ordinal) => Array.Empty<HostAlgorithm>(),
                _ => new HostAlgorithm[] { new AgentAlgorithm(type, blob, 0, socketPath) },
            };
            if (algorithms.Length > 0) result.Add(new SshAgentKeys(algorithms));
        }
        return result;
    }

    private static byte[] Call(string socketPath, byte[] message)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.ReceiveTimeout = 10_000;
        socket.SendTimeout = 10_000;
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        var framed = new byte[4 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed, (uint)message.Length);
        message.CopyTo(framed, 4);
        socket.Send(framed);
        var header = ReceiveExactly(socket, 4);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length is 0 or > 256 * 1024) throw new InvalidDataException("ssh-agent sent a message of an unexpected size.");
        return ReceiveExactly(socket, (int)length);
    }

    private static byte[] ReceiveExactly(Socket socket, int count)
    {
        var buffer = new byte[count];
        var got = 0;
        while (got < count)
        {
            var n = socket.Receive(buffer, got, count - got, SocketFlags.None);
            if (n == 0) throw new IOException("ssh-agent closed the connection.");
            got += n;
        }
        return buffer;
    }

    private static uint ReadUInt32(byte[] data, ref int offset)
    {
        if (offset + 4 > data.Length) throw new InvalidDataException("Truncated ssh-agent message.");
        var v = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(offset));
        offset += 4;
        return v;
    }

    private static byte[] ReadString(byte[] data, ref int offset)
    {
        var length = (int)ReadUInt32(data, ref offset);
        if (length < 0 || offset + length > data.Length) throw new InvalidDataException("Truncated ssh-agent message.");
        var s = data.AsSpan(offset, length).ToArray();
        offset += length;
        return s;
    }

    private static byte[] ReadStringAt(byte[] data, int offset) => ReadString(data, ref offset);

    private static byte[] WriteString(byte[] s)
    {
        var b = new byte[4 + s.Length];
        BinaryPrimitives.WriteUInt32BigEndian(b, (uint)s.Length);
        s.CopyTo(b, 4);
        return b;
    }

    private sealed class AgentAlgorithm : HostAlgorithm
    {
        private readonly byte[] _blob;
        private readonly uint _flags;
        private readonly string _socketPath;

        public AgentAlgorithm(string name, byte[] blob, uint flags, string socketPath) : base(name)
        {
            _blob = blob;
            _flags = flags;
            _socketPath = socketPath;
        }

        public override byte[] Data => _blob;

        /// <summary>The signature in SSH wire form (string algorithm ‖ string signature), as the agent returns it.</summary>
        public override byte[] Sign(byte[] data)
        {
            var request = new List<byte> { SignRequest };
            request.AddRange(WriteString(_blob));
            request.AddRange(WriteString(data));
            var flags = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(flags, _flags);
            request.AddRange(flags);
            var reply = Call(_socketPath, request.ToArray());
            if (reply.Length < 5 || reply[0] != SignResponse)
                throw new HpcException("SshAgentRefused", HpcErrorKind.AuthenticationError, "ssh-agent refused to sign with one of its keys.");
            var offset = 1;
            return ReadString(reply, ref offset);
        }

        public override bool VerifySignature(byte[] data, byte[] signature) =>
            throw new NotSupportedException("Agent keys only sign.");
    }
}
