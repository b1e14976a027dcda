namespace NewLlm.Training;

/// <summary>The two preference accuracies of a set of chosen/rejected pairs (see <see cref="Evaluator.PreferenceAccuracies"/>).</summary>
/// <param name="Summed">Share of pairs whose chosen text has the higher summed log-likelihood (favours the shorter text).</param>
/// <param name="PerToken">Share of pairs whose chosen text has the higher mean log-likelihood per counted (non-PAD) target.</param>
public readonly record struct PreferenceAccuracies(double Summed, double PerToken);
