namespace NewLlm.Training;

/// <summary>
/// What a word-level vocabulary does when a curriculum goes on to a new data set (GPT-2's is the same for every set,
/// so its ids never change).
/// </summary>
public enum VocabularyPolicy
{
    /// <summary>
    /// Keep the first level's vocabulary: every id means the same word at every level, so the trained embedding and output
    /// layer carry over; the new set's words outside it become <c>&lt;unk&gt;</c>, and the share of them is reported per level.
    /// </summary>
    Keep,

    /// <summary>
    /// Build each level's vocabulary from its own training rows, as the original does: ids change meaning under the model,
    /// so the embedding and output layer start anew (re-initialised) while the rest of the model carries over.
    /// </summary>
    Rebuild,
}
