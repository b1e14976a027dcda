using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Runtime.ExceptionServices;

namespace NewLlm.Data;

/// <summary>
/// A read-only, forward-only stream of the decompressed bytes of a gzip file of one or more members (RFC 1952 §2.2: a
/// gzip file is a series of members), read from another stream in bounded memory. Each member's trailer (CRC32 and
/// ISIZE) is checked against what it decompressed to; zero padding after the last member is accepted (as Python's
/// <c>gzip</c> does), anything else after it is not. Every defect is an <see cref="InvalidDataException"/> naming the
/// file, the member (1-based) and the byte offset where the member starts.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="GZipStream"/> reads concatenated members but stops quietly where a truncated file ends, and does not say
/// where a member ended. Here each member's deflate data is inflated by its own <see cref="DeflateStream"/>, which reads
/// the compressed bytes from a feed that hands out at most <see cref="MaxFeedSize"/> bytes a read from this stream's one
/// input buffer and remembers where its last two reads started. A <see cref="DeflateStream"/> reads ahead and does not
/// say how much of its last read it used, but it reads only when its inflater needs more input, so when it reports the
/// end of its data that end lies in its last read or the one before it (tests show the one before is needed with sources
/// giving a byte or two a read; the search also reaches <see cref="LookBehind"/> bytes before the last read). A read that
/// finds the input exhausted means the member is truncated. Those bytes are still in the input buffer, so the member's
/// trailer is found there as the first place holding the CRC32 and ISIZE of the bytes the member inflated to (a 64-bit
/// match), and the next member starts right after it. Where that trailer also appears at a later place (an empty
/// member's is eight zero bytes, which overlap deflate data ending in zeros) the member's deflate data is re-inflated
/// from the buffer to find the true end.
/// </para>
/// <para>
/// Memory is bounded by design: one input buffer of <see cref="InputBufferSize"/> bytes, the current member's
/// <see cref="DeflateStream"/> (its own fixed buffer and the inflater's window) and two CRC32 states; header fields of any
/// length (FEXTRA, FNAME, FCOMMENT) and zero padding are read through the input buffer, never held whole. Decompressed
/// bytes go straight into the caller's buffer. Byte offsets in messages count from where <c>compressed</c> was when this
/// stream was made.
/// </para>
/// <para>
/// Not thread-safe. Asynchronous reads go through <see cref="Stream"/>'s default, which runs <see cref="Read(Span{byte})"/>
/// on a worker thread. After a read has thrown, every later read throws the same exception.
/// </para>
/// </remarks>
internal sealed class GzipMemberStream : Stream
{
    /// <summary>The size of the one buffer holding compressed bytes read from the source.</summary>
    internal const int InputBufferSize = 1 << 16;

    /// <summary>The most compressed bytes handed to the inflater in one read (the trailer is searched for in the last two reads).</summary>
    internal const int MaxFeedSize = 8192;

    private const byte FlagHeaderCrc = 0x02;
    private const byte FlagExtra = 0x04;
    private const byte FlagName = 0x08;
    private const byte FlagComment = 0x10;
    private const byte FlagReserved = 0xE0;
    private const int FixedHeaderSize = 10;
    private const int TrailerSize = 8;

    /// <summary>
    /// How far before the inflater's last read the trailer is searched for at least. The deflate data was seen to end in the
    /// read before the last with sources giving one or two bytes a read; this margin covers an inflater holding a few bytes
    /// beyond the end of the data with such tiny reads.
    /// </summary>
    private const int LookBehind = 32;

    private readonly Stream _source;
    private readonly string _path;
    private readonly bool _leaveOpen;
    private readonly byte[] _input = new byte[InputBufferSize];
    private readonly Crc32 _dataCrc = new();
    private readonly Crc32 _headerCrc = new();
    private readonly DeflateFeed _feed;

    /// <summary>The offset in the source of <c>_input[0]</c>.</summary>
    private long _inputOffset;

    /// <summary>The index in <c>_input</c> of the next byte not yet consumed (by a header, the inflater or a trailer).</summary>
    private int _next;

    /// <summary>How many bytes of <c>_input</c> hold data read from the source.</summary>
    private int _filled;

    private bool _sourceEnded;
    private State _state = State.BeforeMember;
    private int _member;
    private long _memberStart;
    private long _memberLength;
    private DeflateStream? _deflate;
    private long _dataStart;
    private long _lastFeedStart;
    private long _previousFeedStart;
    private bool _feedFoundEnd;
    private ExceptionDispatchInfo? _failure;
    private bool _disposed;

    /// <summary>Initializes a stream of the decompressed bytes of the gzip data in <paramref name="compressed"/>.</summary>
    /// <param name="compressed">The gzip data, read forward from its current position (starting with the gzip magic bytes 1f 8b).</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="leaveOpen">Whether <paramref name="compressed"/> stays open when this stream is disposed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="compressed"/> or <paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="compressed"/> cannot be read.</exception>
    public GzipMemberStream(Stream compressed, string path, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        ArgumentNullException.ThrowIfNull(path);
        if (!compressed.CanRead)
        {
            throw new ArgumentException("The compressed stream must be readable.", nameof(compressed));
        }

        _source = compressed;
        _path = path;
        _leaveOpen = leaveOpen;
        _feed = new DeflateFeed(this);
    }

    private enum State
    {
        /// <summary>A member header (or, after the first member, padding, garbage or the end) comes next.</summary>
        BeforeMember,

        /// <summary>Inside a member's deflate data.</summary>
        Data,

        /// <summary>The last member and any zero padding have been read.</summary>
        Done,
    }

    /// <summary>
    /// Gets how many bytes of the compressed input have been consumed: headers, trailers and padding read, plus the deflate
    /// data handed to the inflater (at most <see cref="MaxFeedSize"/> bytes ahead of what it has inflated). It equals the
    /// compressed length once the stream has returned its last byte; for progress reporting.
    /// </summary>
    public long CompressedPosition => _inputOffset + _next;

    /// <inheritdoc/>
    public override bool CanRead => !_disposed;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => false;

    /// <summary>Not supported: the decompressed length is known only at the end.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Length => throw new NotSupportedException();

    /// <summary>Not supported: the stream is forward-only.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc/>
    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    /// <summary>Reads decompressed bytes, going on into the next member where one ends.</summary>
    /// <param name="buffer">Where the bytes go.</param>
    /// <returns>How many bytes were read; 0 only at the end of the last member (or for an empty <paramref name="buffer"/>).</returns>
    /// <exception cref="InvalidDataException">A member is truncated or corrupt, or bytes other than zeros follow the last member.</exception>
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _failure?.Throw();
        if (buffer.IsEmpty)
        {
            return 0;
        }

        try
        {
            while (true)
            {
                switch (_state)
                {
                    case State.Done:
                        return 0;
                    case State.BeforeMember:
                        if (!StartMember())
                        {
                            _state = State.Done;
                            return 0;
                        }

                        _state = State.Data;
                        break;
                    default:
                        int read = Inflate(buffer);
                        if (read > 0)
                        {
                            return read;
                        }

                        EndMember();
                        _state = State.BeforeMember;
                        break;
                }
            }
        }
        catch (Exception e)
        {
            // The state is unknown after any failure (a source error, a corrupt member): never carry on from it.
            _failure = ExceptionDispatchInfo.Capture(e);
            throw;
        }
    }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <summary>Not supported: the stream is forward-only.</summary>
    /// <param name="offset">Unused.</param>
    /// <param name="origin">Unused.</param>
    /// <returns>Nothing.</returns>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <summary>Not supported: the stream is read-only.</summary>
    /// <param name="value">Unused.</param>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Not supported: the stream is read-only.</summary>
    /// <param name="buffer">Unused.</param>
    /// <param name="offset">Unused.</param>
    /// <param name="count">Unused.</param>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _deflate?.Dispose();
            _deflate = null;
            if (!_leaveOpen)
            {
                _source.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>
    /// Reads what follows a member (or, for the first, the start of the file): reads the next member's header and
    /// returns <see langword="true"/>, or returns <see langword="false"/> at the end of the file or zero padding.
    /// </summary>
    private bool StartMember()
    {
        if (_member > 0)
        {
            long end = CompressedPosition;
            bool magic = Fill(keepFrom: end, until: end + 2) && _input[_next] == 0x1f && _input[_next + 1] == 0x8b;
            if (!magic)
            {
                if (_filled == _next)
                {
                    return false;
                }

                long nonZero = SkipZeros();
                if (nonZero < 0)
                {
                    return false;
                }

                long after = nonZero + CountToEnd();
                throw new InvalidDataException(
                    $"'{_path}' has {after - end} bytes after the last gzip member (member {_member} ends at byte {end}) that are neither a gzip member nor zero padding.");
            }
        }

        _member++;
        _memberStart = CompressedPosition;
        ReadHeader();
        _dataStart = _lastFeedStart = _previousFeedStart = CompressedPosition;
        _feedFoundEnd = false;
        _memberLength = 0;
        _dataCrc.Reset();
        _deflate = new DeflateStream(_feed, CompressionMode.Decompress, leaveOpen: true);
        return true;
    }

    /// <summary>Reads a member header at the current position; on return the position is where its deflate data starts.</summary>
    private void ReadHeader()
    {
        _headerCrc.Reset();
        ReadOnlySpan<byte> fixedPart = TakeHeaderBytes(FixedHeaderSize);
        if (fixedPart[0] != 0x1f || fixedPart[1] != 0x8b)
        {
            throw new InvalidDataException($"{Where} does not start with the gzip magic bytes 1f 8b.");
        }

        if (fixedPart[2] != 8)
        {
            throw new InvalidDataException($"{Where} uses compression method {fixedPart[2]}; only 8 (deflate) exists.");
        }

        byte flags = fixedPart[3];
        if ((flags & FlagReserved) != 0)
        {
            throw new InvalidDataException($"{Where} has reserved header flags set ({flags:x2}).");
        }

        if ((flags & FlagExtra) != 0)
        {
            int extra = BinaryPrimitives.ReadUInt16LittleEndian(TakeHeaderBytes(2));
            while (extra > 0)
            {
                extra -= TakeHeaderBytes(Math.Min(extra, MaxFeedSize)).Length;
            }
        }

        foreach (byte flag in (ReadOnlySpan<byte>)[FlagName, FlagComment])
        {
            if ((flags & flag) != 0)
            {
                SkipZeroTerminatedHeaderField();
            }
        }

        if ((flags & FlagHeaderCrc) != 0)
        {
            uint headerCrc = _headerCrc.GetCurrentHashAsUInt32();
            if (BinaryPrimitives.ReadUInt16LittleEndian(TakeHeaderBytes(2)) != (ushort)headerCrc)
            {
                throw new InvalidDataException($"{Where} has a header CRC16 that does not match its header.");
            }
        }
    }

    /// <summary>Consumes <paramref name="count"/> header bytes (at most <see cref="MaxFeedSize"/>), adding them to the header CRC.</summary>
    private ReadOnlySpan<byte> TakeHeaderBytes(int count)
    {
        if (!Fill(keepFrom: CompressedPosition, until: CompressedPosition + count))
        {
            throw TruncatedHeader();
        }

        var bytes = new ReadOnlySpan<byte>(_input, _next, count);
        _headerCrc.Append(bytes);
        _next += count;
        return bytes;
    }

    /// <summary>Consumes a zero-terminated header field (FNAME or FCOMMENT) of any length, adding it to the header CRC.</summary>
    private void SkipZeroTerminatedHeaderField()
    {
        while (true)
        {
            if (!Fill(keepFrom: CompressedPosition, until: CompressedPosition + 1))
            {
                throw TruncatedHeader();
            }

            var available = new ReadOnlySpan<byte>(_input, _next, _filled - _next);
            int zero = available.IndexOf((byte)0);
            int count = zero < 0 ? available.Length : zero + 1;
            _headerCrc.Append(available[..count]);
            _next += count;
            if (zero >= 0)
            {
                return;
            }
        }
    }

    /// <summary>The current member, for messages.</summary>
    private string Where => $"'{_path}' gzip member {_member} (at byte {_memberStart})";

    /// <summary>The error for a file that ends inside the current member's header.</summary>
    private InvalidDataException TruncatedHeader() =>
        new($"'{_path}' is a truncated gzip file: member {_member} (at byte {_memberStart}) ends inside its header.");

    /// <summary>Inflates the current member into <paramref name="buffer"/>; 0 where its deflate data ends (or the input does).</summary>
    private int Inflate(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _deflate!.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            if (_feedFoundEnd)
            {
                throw TruncatedData(e);
            }

            throw new InvalidDataException(
                $"'{_path}' gzip member {_member} (at byte {_memberStart}) is corrupt (its deflate data is invalid before byte {CompressedPosition}): {e.Message}",
                e);
        }

        _dataCrc.Append(buffer[..read]);
        _memberLength += read;
        return read;
    }

    /// <summary>The error for a file that ends inside the current member's deflate data.</summary>
    private InvalidDataException TruncatedData(Exception? inner = null) =>
        new($"'{_path}' is a truncated gzip file: member {_member} (at byte {_memberStart}) ends inside its compressed data (the file has {CompressedLength} bytes).", inner);

    /// <summary>The length of the source: valid once it has ended.</summary>
    private long CompressedLength => _inputOffset + _filled;

    /// <summary>
    /// Ends the current member: finds its trailer (the first place from <see cref="TrailerSearchStart"/> to the end of the
    /// inflater's last read holding the CRC32 and ISIZE of what it inflated to) and moves past it.
    /// </summary>
    private void EndMember()
    {
        _deflate!.Dispose();
        _deflate = null;
        if (_feedFoundEnd)
        {
            throw TruncatedData();
        }

        uint crc = _dataCrc.GetCurrentHashAsUInt32();
        uint size = unchecked((uint)_memberLength);
        long fedTo = CompressedPosition;
        long searchFrom = TrailerSearchStart(_previousFeedStart, _lastFeedStart);
        Fill(keepFrom: searchFrom, until: fedTo + TrailerSize);
        int from = (int)(searchFrom - _inputOffset);
        int to = (int)(fedTo - _inputOffset);
        var window = new ReadOnlySpan<byte>(_input, from, Math.Min(_filled, to + TrailerSize) - from);
        Span<byte> trailer = stackalloc byte[TrailerSize];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], size);
        int found = window.IndexOf(trailer);
        if (found < 0)
        {
            throw NoTrailer(window, trailer, searchFrom, crc);
        }

        if (window[(found + 1)..].IndexOf(trailer) >= 0)
        {
            found = FirstEnd(window, trailer, found, from);
        }

        _next = from + found + TrailerSize;
    }

    /// <summary>
    /// Of several places in <paramref name="window"/> holding the trailer expected (the first at <paramref name="first"/>),
    /// the one where the deflate data really ends. They overlap when the trailer repeats itself, as an empty member's
    /// eight zero bytes do after deflate data ending in zeros (<c>03 00</c>, <c>01 00 00 ff ff</c>); then, where the
    /// member's deflate data is all still in the input buffer, the end is the first place before which that data inflates
    /// whole (a shorter prefix lacks the byte holding the end code). Otherwise (a trailer repeated by chance after a
    /// member larger than the buffer, about 2^-64 likely) the first place is taken.
    /// </summary>
    private int FirstEnd(ReadOnlySpan<byte> window, ReadOnlySpan<byte> trailer, int first, int windowIndex)
    {
        if (_dataStart < _inputOffset)
        {
            return first;
        }

        int dataIndex = (int)(_dataStart - _inputOffset);
        for (int p = first; p >= 0;)
        {
            if (InflatesWhole(dataIndex, windowIndex + p))
            {
                return p;
            }

            int next = window[(p + 1)..].IndexOf(trailer);
            p = next < 0 ? -1 : p + 1 + next;
        }

        return first;
    }

    /// <summary>Whether <c>_input[start..end]</c> holds a whole deflate stream (inflating it never asks for more bytes).</summary>
    private bool InflatesWhole(int start, int end)
    {
        var probe = new ProbeSource(_input, start, end - start);
        using var deflate = new DeflateStream(probe, CompressionMode.Decompress);
        Span<byte> sink = stackalloc byte[4096];
        try
        {
            while (deflate.Read(sink) > 0)
            {
            }
        }
        catch (InvalidDataException)
        {
            return false;
        }

        return !probe.EndReached;
    }

    /// <summary>Says why no trailer matches: one field of a complete trailer is wrong, the file ends inside the trailer, or either.</summary>
    private InvalidDataException NoTrailer(ReadOnlySpan<byte> window, ReadOnlySpan<byte> trailer, long windowStart, uint crc)
    {
        int complete = window.Length - TrailerSize; // the last start of a complete 8 bytes in the window
        for (int p = 0; p <= complete; p++)
        {
            if (window.Slice(p, 4).SequenceEqual(trailer[..4]))
            {
                uint stated = BinaryPrimitives.ReadUInt32LittleEndian(window[(p + 4)..]);
                string modulo = _memberLength > uint.MaxValue ? $" ({unchecked((uint)_memberLength)} modulo 2^32)" : string.Empty;
                return new InvalidDataException(
                    $"{Where} has a wrong ISIZE: it inflates to {_memberLength} bytes{modulo}, but its trailer (at byte {windowStart + p}) says {stated}.");
            }
        }

        for (int p = 0; p <= complete; p++)
        {
            if (window.Slice(p + 4, 4).SequenceEqual(trailer[4..]))
            {
                uint stated = BinaryPrimitives.ReadUInt32LittleEndian(window[p..]);
                return new InvalidDataException(
                    $"{Where} has a wrong CRC32: what it inflates to has CRC32 {crc:x8}, but its trailer (at byte {windowStart + p}) says {stated:x8}.");
            }
        }

        // The file ends inside the trailer: its last bytes (one or more) are the start of the trailer expected.
        if (_sourceEnded)
        {
            for (int p = Math.Max(0, complete + 1); p < window.Length; p++)
            {
                if (window[p..].SequenceEqual(trailer[..(window.Length - p)]) && windowStart + p <= CompressedPosition)
                {
                    return new InvalidDataException(
                        $"'{_path}' is a truncated gzip file: member {_member} (at byte {_memberStart}) ends inside its trailer (the file has {CompressedLength} bytes).");
                }
            }
        }

        return new InvalidDataException(
            $"'{_path}' is a truncated or corrupt gzip file: member {_member} (at byte {_memberStart}) inflates to {_memberLength} bytes with CRC32 {crc:x8}, but no trailer saying so follows (its CRC32 or ISIZE is wrong, or the file ends before it).");
    }

    /// <summary>Consumes zero bytes up to the end of the file; returns the offset of the first other byte, or -1 if there is none.</summary>
    private long SkipZeros()
    {
        while (Fill(keepFrom: CompressedPosition, until: CompressedPosition + 1))
        {
            int nonZero = new ReadOnlySpan<byte>(_input, _next, _filled - _next).IndexOfAnyExcept((byte)0);
            if (nonZero >= 0)
            {
                _next += nonZero;
                return CompressedPosition;
            }

            _next = _filled;
        }

        return -1;
    }

    /// <summary>Consumes the rest of the file; returns how many bytes it had.</summary>
    private long CountToEnd()
    {
        long start = CompressedPosition;
        while (Fill(keepFrom: CompressedPosition, until: CompressedPosition + 1))
        {
            _next = _filled;
        }

        return CompressedPosition - start;
    }

    /// <summary>
    /// Reads from the source until the input holds the bytes before offset <paramref name="until"/> or the source ends,
    /// keeping the bytes from offset <paramref name="keepFrom"/> on (moved to the front of the buffer when a read is needed).
    /// </summary>
    /// <returns>Whether the input holds the bytes before <paramref name="until"/>.</returns>
    private bool Fill(long keepFrom, long until)
    {
        while (_inputOffset + _filled < until && !_sourceEnded)
        {
            int keep = (int)(keepFrom - _inputOffset);
            if (keep > 0)
            {
                _input.AsSpan(keep, _filled - keep).CopyTo(_input);
                _inputOffset += keep;
                _filled -= keep;
                _next -= keep;
            }

            if (_filled == _input.Length)
            {
                // Unreachable by design: no caller keeps more than two feeds and a trailer (2 * MaxFeedSize + 8 bytes).
                throw new InvalidOperationException("The gzip input buffer is full of bytes still needed.");
            }

            int read = _source.Read(_input, _filled, _input.Length - _filled);
            if (read == 0)
            {
                _sourceEnded = true;
            }

            _filled += read;
        }

        return _inputOffset + _filled >= until;
    }

    /// <summary>
    /// Where the trailer is searched for once the inflater's last two reads started at <paramref name="previousFeed"/>
    /// and <paramref name="lastFeed"/>: from the earlier one, and at least <see cref="LookBehind"/> bytes before the last,
    /// but not before the member's deflate data.
    /// </summary>
    private long TrailerSearchStart(long previousFeed, long lastFeed) => Math.Max(_dataStart, Math.Min(previousFeed, lastFeed - LookBehind));

    /// <summary>
    /// Hands the inflater the current member's compressed bytes from the input, at most <see cref="MaxFeedSize"/> a read,
    /// remembering where the last two reads started; a read that finds the file ended marks the member truncated.
    /// </summary>
    private int Feed(Span<byte> buffer)
    {
        long at = CompressedPosition;
        Fill(keepFrom: TrailerSearchStart(_lastFeedStart, at), until: at + 1);
        int count = Math.Min(Math.Min(buffer.Length, MaxFeedSize), _filled - _next);
        _previousFeedStart = _lastFeedStart;
        _lastFeedStart = at;
        _input.AsSpan(_next, count).CopyTo(buffer);
        _next += count;
        _feedFoundEnd |= count == 0 && !buffer.IsEmpty;
        return count;
    }

    /// <summary>A read-only view of part of an array that remembers whether a read found it exhausted.</summary>
    /// <param name="data">The array.</param>
    /// <param name="start">Where the part starts.</param>
    /// <param name="count">How long the part is.</param>
    private sealed class ProbeSource(byte[] data, int start, int count) : MemoryStream(data, start, count, writable: false)
    {
        /// <summary>Gets a value indicating whether a read wanted bytes and found none left.</summary>
        public bool EndReached { get; private set; }

        // MemoryStream.Read(Span) of a derived type goes through this one.
        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = base.Read(buffer, offset, count);
            EndReached |= read == 0 && count > 0;
            return read;
        }
    }

    /// <summary>The stream a member's <see cref="DeflateStream"/> reads its compressed bytes from (see <see cref="Feed"/>).</summary>
    /// <param name="owner">The stream whose input is handed out.</param>
    private sealed class DeflateFeed(GzipMemberStream owner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            return owner.Feed(buffer.AsSpan(offset, count));
        }

        public override int Read(Span<byte> buffer) => owner.Feed(buffer);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
