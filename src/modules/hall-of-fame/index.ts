export {
  describeHallOfFameEntry,
  HallOfFameListNotFoundError,
  type HallOfFameEntry,
  type HallOfFameEntryInput,
} from "./hall-of-fame.js";
export {
  addHallOfFameEntry,
  changeHallOfFameEntry,
  findHallOfFameEntry,
  HallOfFameEntryExistsError,
  HallOfFameEntryNotFoundError,
  importHallOfFame,
  listHallOfFameEntries,
  removeHallOfFameEntry,
  type HallOfFameImport,
} from "./hall-of-fame.service.js";
