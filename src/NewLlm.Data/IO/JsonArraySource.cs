using System.Runtime.CompilerServices;

namespace NewLlm.Data;

/// <summary>
/// Streams the elements of a file that is one JSON array of objects (<c>[{…}, {…}]</c>, as CodeAlpaca's
/// <c>code_alpaca_20k.json</c>) with <see cref="Utf8JsonReader"/> in bounded memory: one buffer that grows only to the
/// largest element, refused once it is over the <see cref="RowLimit"/>; one <see cref="SourceRow"/> per element, located
/// by its 0-based index and the byte offset where it starts. A top level that is not an array, a malformed element,
/// anything but whitespace after the array, or an empty array is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal static class JsonArraySource
{
    private const int InitialSize = 1 << 16;

    /// <summary>Streams the elements with their 0-based index; elements <paramref name="include"/> refuses are skipped, not built.</summary>
    public static async IAsyncEnumerable<(long Index, SourceRow Row)> ReadIndexedAsync(string path, Func<long, bool>? include, RowLimit limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (file.Length == 0)
        {
            throw new InvalidDataException($"'{path}' is empty (0 bytes); it holds no rows.");
        }

        var parser = new Parser(path);
        byte[] buffer = new byte[InitialSize];
        int start = 0, end = 0;
        long bufferOffset = 0;
        bool final = false, ended = false;
        while (true)
        {
            int consumed = 0, elementStart = -1;
            var step = ended ? Step.End : parser.Next(buffer.AsSpan(start, end - start), final, bufferOffset + start, out consumed, out elementStart);
            if (step == Step.Element)
            {
                long index = parser.Index;
                long offset = bufferOffset + start + elementStart;
                int length = consumed - elementStart;
                if (length > limit.MaxBytes)
                {
                    throw limit.TooLarge(RowLocation.AtElement(path, index, offset).ToString(), length, complete: true);
                }

                if (include is null || include(index))
                {
                    var location = RowLocation.AtElement(path, index, offset);
                    yield return (index, new SourceRow(JsonRow.Parse(buffer.AsSpan(start + elementStart, length), location.ToString()), location));
                }

                start += consumed;
                continue;
            }

            if (step == Step.End)
            {
                ended = true;
                start += consumed;
                if (buffer.AsSpan(start, end - start).IndexOfAnyExcept(" \t\r\n"u8) is int junk and >= 0)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"'{path}' has data after its JSON array, at byte {bufferOffset + start + junk}; the file must be one JSON array."));
                }

                start = end;
                if (final)
                {
                    break;
                }
            }
            else
            {
                start += consumed;
                long pending = end - start - Math.Max(0, elementStart - consumed);
                if (pending > limit.MaxBytes)
                {
                    long offset = bufferOffset + start + Math.Max(0, elementStart - consumed);
                    throw limit.TooLarge(RowLocation.AtElement(path, parser.Index + 1, offset).ToString(), pending, complete: false);
                }

                if (final)
                {
                    throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"'{path}' ends inside its JSON array (element {parser.Index + 1}, at byte {bufferOffset + end}): the file is truncated. Download or copy it again."));
                }
            }

            // Keep the unread bytes, grow the buffer when they fill it, and read more.
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            bufferOffset += start;
            end -= start;
            start = 0;
            if (end == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(Array.MaxLength, buffer.Length * 2L));
            }

            int read = await file.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
            final = read == 0;
            end += read;
        }

        if (parser.Index < 0)
        {
            throw new InvalidDataException($"'{path}' is an empty JSON array; it holds no rows.");
        }
    }

    private enum Step
    {
        NeedMore,
        Element,
        End,
    }

    /// <summary>The reader's state between buffers: before the array, inside it (the last element's index), after it.</summary>
    private sealed class Parser(string path)
    {
        private JsonReaderState _state = new(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        private bool _begun;

        /// <summary>The 0-based index of the last element read (-1 before the first).</summary>
        public long Index { get; private set; } = -1;

        /// <summary>
        /// Reads the next element of <paramref name="data"/>: <see cref="Step.Element"/> with the bytes read through its end
        /// (<paramref name="consumed"/>) and where it starts; <see cref="Step.NeedMore"/> with the bytes done with (and
        /// where the pending element starts, when known); or <see cref="Step.End"/> after the closing bracket.
        /// </summary>
        public Step Next(ReadOnlySpan<byte> data, bool final, long dataOffset, out int consumed, out int elementStart)
        {
            consumed = 0;
            elementStart = -1;
            if (!_begun && data.StartsWith("\uFEFF"u8))
            {
                consumed = 3;
                data = data[3..];
            }

            int skipped = consumed;
            var reader = new Utf8JsonReader(data, final, _state);
            try
            {
                if (!_begun)
                {
                    if (!reader.Read())
                    {
                        return Step.NeedMore;
                    }

                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        throw new InvalidDataException(
                            $"'{path}' starts with a JSON object, not a JSON array: this set's file is one JSON array of objects ([{{…}}, {{…}}]), as CodeAlpaca's code_alpaca_20k.json is. A file of one JSON object a line (JSON Lines) is read as DialogueDataset.JsonLines.");
                    }

                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                            $"'{path}' is not a JSON array (its top level is {reader.TokenType} at byte {dataOffset + skipped + reader.TokenStartIndex}); this set's file is one JSON array of objects."));
                    }

                    _begun = true;
                    _state = reader.CurrentState;
                    consumed = skipped + (int)reader.BytesConsumed;
                }

                if (!reader.Read())
                {
                    return Step.NeedMore;
                }

                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    consumed = skipped + (int)reader.BytesConsumed;
                    return Step.End;
                }

                elementStart = skipped + (int)reader.TokenStartIndex;
                if (!reader.TrySkip())
                {
                    return Step.NeedMore;
                }

                Index++;
                _state = reader.CurrentState;
                consumed = skipped + (int)reader.BytesConsumed;
                return Step.Element;
            }
            catch (JsonException e) when (!_begun)
            {
                throw new InvalidDataException($"'{path}' is not a JSON array ({JsonRow.Reason(e)}); this set's file is one JSON array of objects.", e);
            }
            catch (JsonException e)
            {
                long at = dataOffset + (elementStart >= 0 ? elementStart : skipped + reader.BytesConsumed);
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"'{path}' element {Index + 1} at byte {at}: {JsonRow.Reason(e)}."), e);
            }
        }
    }
}
