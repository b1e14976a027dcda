namespace NewLlm.Data;

/// <summary>
/// Reads a stream line by line as bytes in bounded memory: one buffer that grows only to the longest line. A line is
/// the bytes up to <c>\n</c> (a <c>\r</c> before it stays, as JSON ignores it); the last line needs no <c>\n</c>.
/// A line longer than the limit (without its <c>\n</c>) is refused (<see cref="RowLimit.TooLarge"/>) as soon as the scan has
/// read past the limit, so it is never held whole. The stream is not disposed by the scanner.
/// </summary>
internal sealed class LineScanner(Stream stream, string path, RowLimit limit)
{
    private const int InitialSize = 1 << 16;
    private byte[] _buffer = new byte[InitialSize];
    private int _start;
    private int _end;
    private bool _atEnd;

    /// <summary>The 1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line, or <see langword="null"/> at the end of the stream. Valid until the next call.</summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(CancellationToken cancellationToken)
    {
        int searched = _start;
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', searched, _end - searched);
            if (newline >= 0 || (_atEnd && _start < _end))
            {
                int end = newline >= 0 ? newline : _end; // the last line needs no \n
                ThrowIfTooLong(end - _start, complete: true);
                var line = new ReadOnlyMemory<byte>(_buffer, _start, end - _start);
                _start = newline >= 0 ? newline + 1 : _end;
                LineNumber++;
                return line;
            }

            if (_atEnd)
            {
                return null;
            }

            // No end of line yet: a line already past the limit is refused here, before more of it is read.
            ThrowIfTooLong(_end - _start, complete: false);
            searched = _end;
            if (_start > 0)
            {
                // Move the partial line to the front before reading more.
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                searched -= _start;
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _atEnd = true;
            }

            _end += read;
        }
    }

    private void ThrowIfTooLong(long length, bool complete)
    {
        if (length > limit.MaxBytes)
        {
            throw limit.TooLarge(RowLocation.AtLine(path, LineNumber + 1).ToString(), length, complete);
        }
    }

    /// <summary>Whether a line holds only spaces, tabs, carriage returns, form feeds and vertical tabs (such lines are skipped, as in HH-RLHF).</summary>
    public static bool IsBlank(ReadOnlySpan<byte> line) => !line.ContainsAnyExcept(" \t\r\f\v"u8);
}
