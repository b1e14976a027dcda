namespace NewLlm.Data;

/// <summary>
/// Counts the lower-cased words of texts given in any order, each with its position in the order the original reads
/// them, so that the vocabulary is the one the original's <c>sorted(counts, reverse=True)</c> gives: most frequent first,
/// ties in the order of first appearance (the lowest position, then the word's place in that text). Memory grows with
/// the distinct words only, so a vocabulary can be built while streaming rows.
/// </summary>
internal sealed class WordCounts
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>The number of words counted (with repeats).</summary>
    public long TotalWords { get; private set; }

    /// <summary>Counts the words of a text read at <paramref name="position"/> of the original's order.</summary>
    public void Add(long position, string text)
    {
        string lower = PythonText.ToLower(text);
        var lookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
        int index = 0;
        foreach (var range in PythonText.SplitRanges(lower))
        {
            var word = lower.AsSpan(range);
            if (lookup.TryGetValue(word, out Entry? entry))
            {
                entry.Count++;
                if (position < entry.FirstPosition || (position == entry.FirstPosition && index < entry.FirstIndex))
                {
                    (entry.FirstPosition, entry.FirstIndex) = (position, index);
                }
            }
            else
            {
                _entries.Add(word.ToString(), new Entry { Count = 1, FirstPosition = position, FirstIndex = index });
            }

            index++;
            TotalWords++;
        }
    }

    /// <summary>The <paramref name="count"/> words the original's vocabulary keeps, in id order.</summary>
    public string[] TopWords(int count) => [.. _entries
        .OrderByDescending(e => e.Value.Count)
        .ThenBy(e => e.Value.FirstPosition)
        .ThenBy(e => e.Value.FirstIndex)
        .Take(count)
        .Select(e => e.Key)];

    /// <summary>How many of the counted words (with repeats) are in <paramref name="words"/>.</summary>
    public long CountCovered(IEnumerable<string> words) => words.Sum(word => _entries.TryGetValue(word, out Entry? entry) ? entry.Count : 0);

    private sealed class Entry
    {
        public long Count { get; set; }

        public long FirstPosition { get; set; }

        public int FirstIndex { get; set; }
    }
}
