export {
  describeHallOfFameEntry,
  HallOfFameListNotFoundError,
  type HallOfFameEntry,
  type HallOfFameEntryInput,
} from "./hall-of-fame.js";
export { addHallOfFameEntry, importHallOfFame, listHallOfFameEntries, type HallOfFameImport } from "./hall-of-fame.service.js";
