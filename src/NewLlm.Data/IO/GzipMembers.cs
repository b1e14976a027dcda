using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace NewLlm.Data;

/// <summary>
/// Decompresses a gzip file of one or more members (RFC 1952 §2.2: a gzip file is a series of members), checking each
/// member's trailer (CRC32 and ISIZE) against what it decompressed to; zero padding after the last member is accepted
/// (as Python's <c>gzip</c> does), anything else after it is not.
/// </summary>
/// <remarks>
/// <see cref="GZipStream"/> reads concatenated members but stops quietly where a truncated file ends, and does not say
/// where a member ended. Here each member's deflate data is inflated by a <see cref="DeflateStream"/> that is fed in
/// small reads (a read that finds the array exhausted means the member is truncated), so the end of the data lies in the last read or the one before it; the member's trailer is the first
/// place there holding the CRC32 and ISIZE of the bytes it inflated to (a 64-bit match).
/// </remarks>
internal static class GzipMembers
{
    private const int ReadSize = 8192;
    private const byte FlagHeaderCrc = 0x02;
    private const byte FlagExtra = 0x04;
    private const byte FlagName = 0x08;
    private const byte FlagComment = 0x10;
    private const byte FlagReserved = 0xE0;

    /// <summary>Decompresses every member of <paramref name="stored"/>.</summary>
    /// <param name="stored">The file's bytes (starting with the gzip magic bytes).</param>
    /// <param name="path">The file, for messages.</param>
    /// <returns>The concatenated decompressed bytes.</returns>
    /// <exception cref="InvalidDataException">A member is truncated or corrupt, or bytes other than zeros follow the last member.</exception>
    public static byte[] Decompress(byte[] stored, string path)
    {
        using var output = new MemoryStream(stored.Length * 4);
        var buffer = new byte[1 << 16];
        int position = 0;
        for (int member = 1; ; member++)
        {
            int dataStart = ReadHeader(stored, position, path, member);
            var source = new RecordingStream(stored, dataStart);
            var hash = new Crc32();
            long length = 0;
            try
            {
                using var deflate = new DeflateStream(source, CompressionMode.Decompress, leaveOpen: true);
                int read;
                while ((read = deflate.Read(buffer, 0, buffer.Length)) > 0)
                {
                    output.Write(buffer, 0, read);
                    hash.Append(buffer.AsSpan(0, read));
                    length += read;
                }
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"'{path}' gzip member {member} (at byte {position}) is corrupt: {e.Message}", e);
            }

            uint crc = hash.GetCurrentHashAsUInt32();
            int trailer = FindTrailer(stored, Math.Max(dataStart, source.PreviousReadStart), (int)source.Position, crc, (uint)length);
            if (trailer < 0)
            {
                throw new InvalidDataException(source.EndReached
                    ? $"'{path}' is a truncated gzip file: member {member} (at byte {position}) ends inside its compressed data (the file has {stored.Length} bytes)."
                    : $"'{path}' is a truncated or corrupt gzip file: member {member} (at byte {position}) inflates to {length} bytes with CRC32 {crc:x8}, but no trailer saying so follows (its CRC32 or ISIZE is wrong, or the file ends before it).");
            }

            position = trailer + 8;
            if (position == stored.Length || stored.AsSpan(position).IndexOfAnyExcept((byte)0) < 0)
            {
                return output.ToArray();
            }

            if (stored.Length - position < 2 || stored[position] != 0x1f || stored[position + 1] != 0x8b)
            {
                throw new InvalidDataException(
                    $"'{path}' has {stored.Length - position} bytes after the last gzip member (member {member} ends at byte {position}) that are neither a gzip member nor zero padding.");
            }
        }
    }

    /// <summary>Reads a member header at <paramref name="start"/>; returns where its deflate data starts.</summary>
    private static int ReadHeader(byte[] stored, int start, string path, int member)
    {
        string where = $"'{path}' gzip member {member} (at byte {start})";
        int p = start;
        void Need(int count)
        {
            if (p + count > stored.Length)
            {
                throw new InvalidDataException($"'{path}' is a truncated gzip file: member {member} (at byte {start}) ends inside its header.");
            }
        }

        Need(10);
        if (stored[p] != 0x1f || stored[p + 1] != 0x8b)
        {
            throw new InvalidDataException($"{where} does not start with the gzip magic bytes 1f 8b.");
        }

        if (stored[p + 2] != 8)
        {
            throw new InvalidDataException($"{where} uses compression method {stored[p + 2]}; only 8 (deflate) exists.");
        }

        byte flags = stored[p + 3];
        if ((flags & FlagReserved) != 0)
        {
            throw new InvalidDataException($"{where} has reserved header flags set ({flags:x2}).");
        }

        p += 10;
        if ((flags & FlagExtra) != 0)
        {
            Need(2);
            int extra = BinaryPrimitives.ReadUInt16LittleEndian(stored.AsSpan(p));
            p += 2;
            Need(extra);
            p += extra;
        }

        foreach (byte flag in new[] { FlagName, FlagComment })
        {
            if ((flags & flag) != 0)
            {
                int zero = Array.IndexOf(stored, (byte)0, p);
                if (zero < 0)
                {
                    Need(stored.Length - p + 1);
                }

                p = zero + 1;
            }
        }

        if ((flags & FlagHeaderCrc) != 0)
        {
            Need(2);
            uint headerCrc = Crc32.HashToUInt32(stored.AsSpan(start, p - start));
            if (BinaryPrimitives.ReadUInt16LittleEndian(stored.AsSpan(p)) != (ushort)headerCrc)
            {
                throw new InvalidDataException($"{where} has a header CRC16 that does not match its header.");
            }

            p += 2;
        }

        return p;
    }

    /// <summary>The first position in [<paramref name="from"/>, <paramref name="to"/>] holding the trailer CRC32 and ISIZE, or -1.</summary>
    private static int FindTrailer(byte[] stored, int from, int to, uint crc, uint size)
    {
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], size);
        for (int p = from; p <= to && p + 8 <= stored.Length; p++)
        {
            if (stored.AsSpan(p, 8).SequenceEqual(trailer))
            {
                return p;
            }
        }

        return -1;
    }

    /// <summary>A read-only view of a byte array from an offset, giving at most <see cref="ReadSize"/> bytes a read and remembering where the last two reads started.</summary>
    private sealed class RecordingStream(byte[] data, int start) : Stream
    {
        private int _position = start;

        public int PreviousReadStart { get; private set; } = start;

        /// <summary>Whether a read found no byte left: the reader wanted more than the array holds.</summary>
        public bool EndReached { get; private set; }

        private int LastReadStart { get; set; } = start;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int count = Math.Min(Math.Min(buffer.Length, ReadSize), data.Length - _position);
            PreviousReadStart = LastReadStart;
            LastReadStart = _position;
            data.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            EndReached |= count == 0 && buffer.Length > 0;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
