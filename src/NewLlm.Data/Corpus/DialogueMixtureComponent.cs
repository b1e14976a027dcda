namespace NewLlm.Data;

/// <summary>One set of a mixed corpus and its share of the rows (for example UltraChat 0.8, HH-RLHF 0.2).</summary>
/// <param name="Source">The set's files.</param>
/// <param name="Weight">Its share: the weights of a mixture are normalised to sum to 1.</param>
public sealed record DialogueMixtureComponent(DialogueSource Source, double Weight);
